import re
import threading

import pytest

from sample_app.metrics import DEFAULT_BUCKETS, Metrics, escape_label

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def parse(text):
    """Parse the text exposition format into {(name, frozenset(labels)): value} and TYPE lines."""
    samples, types = {}, {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split(" ", 3)[2:]
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        match = SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        labels = frozenset((m["key"], m["value"]) for m in LABEL.finditer(match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples, types


def parse_samples(text):
    return parse(text)[0]


def buckets(samples, name="sample_app_request_duration_seconds_bucket"):
    found = [(dict(labels)["le"], value) for (n, labels), value in samples.items() if n == name]
    return sorted(found, key=lambda item: float(item[0]))


def test_empty_metrics_render_every_family_with_zero_counts():
    samples, types = parse(Metrics(version="1.2.3").render())
    assert types == {
        "sample_app_requests_total": "counter",
        "sample_app_errors_total": "counter",
        "sample_app_request_duration_seconds": "histogram",
        "sample_app_info": "gauge",
        "sample_app_start_time_seconds": "gauge",
    }
    assert samples[("sample_app_errors_total", frozenset())] == 0
    assert samples[("sample_app_request_duration_seconds_count", frozenset())] == 0
    assert samples[("sample_app_info", frozenset({("version", "1.2.3")}))] == 1


def test_requests_are_counted_by_path_and_status_and_errors_are_the_5xx():
    metrics = Metrics(version="0.1.0")
    for path, status in [("/healthz", 200), ("/healthz", 200), ("/items", 503), ("/version", 500)]:
        metrics.observe(path, status, 0.001)
    samples = parse_samples(metrics.render())
    assert samples[("sample_app_requests_total", frozenset({("path", "/healthz"), ("status", "200")}))] == 2
    assert samples[("sample_app_requests_total", frozenset({("path", "/items"), ("status", "503")}))] == 1
    assert samples[("sample_app_errors_total", frozenset())] == 2


def test_unknown_paths_share_one_label_value():
    metrics = Metrics(version="0.1.0")
    for path in ["/wp-admin", "/.env", "/items/1"]:
        metrics.observe(path, 404, 0.001)
    samples = parse_samples(metrics.render())
    paths = {dict(labels)["path"] for (name, labels) in samples if name == "sample_app_requests_total"}
    assert paths == {"other"}
    assert samples[("sample_app_requests_total", frozenset({("path", "other"), ("status", "404")}))] == 3


def test_histogram_is_cumulative_and_ends_with_the_count():
    metrics = Metrics(version="0.1.0")
    durations = [0.001, 0.004, 0.02, 0.3, 0.3, 2.0, 12.0]
    for duration in durations:
        metrics.observe("/healthz", 200, duration)
    samples = parse_samples(metrics.render())
    found = buckets(samples)
    assert [le for le, _count in found] == [repr(b) for b in DEFAULT_BUCKETS] + ["+Inf"]
    counts = [value for _le, value in found]
    assert counts == sorted(counts), "bucket counts must never decrease"
    by_le = dict(found)
    assert by_le["0.005"] == 2
    assert by_le["0.025"] == 3
    assert by_le["0.5"] == 5
    assert by_le["2.5"] == 6
    assert by_le["10.0"] == 6
    assert by_le["+Inf"] == len(durations)
    assert samples[("sample_app_request_duration_seconds_count", frozenset())] == len(durations)
    assert samples[("sample_app_request_duration_seconds_sum", frozenset())] == pytest.approx(sum(durations))


def test_bucket_bounds_are_inclusive():
    metrics = Metrics(version="0.1.0")
    metrics.observe("/healthz", 200, 0.1)
    assert dict(buckets(parse_samples(metrics.render())))["0.1"] == 1


def test_label_values_are_escaped():
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    samples = parse_samples(Metrics(version='1.0"x').render())
    assert samples[("sample_app_info", frozenset({("version", '1.0\\"x')}))] == 1


def test_concurrent_observations_are_all_counted():
    metrics = Metrics(version="0.1.0")

    def worker():
        for _request in range(500):
            metrics.observe("/healthz", 200, 0.002)

    threads = [threading.Thread(target=worker) for _thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples = parse_samples(metrics.render())
    assert samples[("sample_app_requests_total", frozenset({("path", "/healthz"), ("status", "200")}))] == 4000
    assert dict(buckets(samples))["+Inf"] == 4000
