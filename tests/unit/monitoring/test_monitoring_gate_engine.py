"""The metric gate engine: durations, check validation, result parsing and the two gate policies."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._prometheus import (
    GateFailed,
    PrometheusClient,
    normalize_checks,
    parse_duration,
    parse_result,
    run_gate,
)

DEFAULTS = {"mode": "instant", "empty_result": "fail", "range": "5m", "step": "15s"}


def vector(*values, labels=None):
    return {
        "resultType": "vector",
        "result": [
            {"metric": dict(labels or {}, host=f"app{i + 1}"), "value": [0, str(v)]} for i, v in enumerate(values)
        ],
    }


class ScriptedPrometheus:
    """Answers each query from a list of answers, one per evaluation (the last one repeats)."""

    def __init__(self, answers: dict[str, list[dict]]):
        self.answers = answers
        self.calls: dict[str, int] = {}

    def query(self, promql, at=None):
        count = self.calls.get(promql, 0)
        self.calls[promql] = count + 1
        answers = self.answers[promql]
        return answers[min(count, len(answers) - 1)]

    def query_range(self, promql, start, end, step):
        return self.query(promql)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def gate(answers, checks, **kwargs):
    clock = FakeClock()
    result = run_gate(
        ScriptedPrometheus(answers),
        normalize_checks(checks, DEFAULTS),
        clock=clock.clock,
        sleep=clock.sleep,
        wall=lambda: 1_700_000_000 + clock.now,
        **kwargs,
    )
    return result, clock


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(0, 0), (90, 90), ("45", 45), ("30s", 30), ("5m", 300), ("1m30s", 90), ("1h", 3600), ("250ms", 0.25), (1.5, 1.5)],
)
def test_durations_accept_seconds_and_prometheus_units(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "m5", "-3", "1x", True, "1m foo"])
def test_bad_durations_are_refused_in_one_line(text):
    with pytest.raises(ConfigurationError) as info:
        parse_duration(text, "duration")
    assert "\n" not in str(info.value)
    assert "duration" in str(info.value)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"query": "up", "op": "=~", "threshold": 1}, "has op '=~'"),
        ({"query": "up", "op": "<", "threshold": "high"}, "numeric threshold"),
        ({"query": " ", "op": "<", "threshold": 1}, "has no query"),
        ({"query": "up", "op": "<", "threshold": 1, "mode": "range", "range": "0s"}, "more than 0s"),
    ],
)
def test_bad_checks_name_the_check_and_the_fix(check, message):
    with pytest.raises(ConfigurationError) as info:
        normalize_checks([check], DEFAULTS)
    assert message in str(info.value)
    assert "check 'check1'" in str(info.value)


def test_operator_aliases_and_defaults_are_filled_in():
    (check,) = normalize_checks([{"name": "p95", "query": "x", "op": "le", "threshold": "0.5"}], DEFAULTS)
    assert (check["op"], check["threshold"], check["range"], check["step"]) == ("<=", 0.5, 300, 15)


def test_duplicate_check_names_are_refused():
    with pytest.raises(ConfigurationError, match="appears twice"):
        normalize_checks([{"name": "a", "query": "x", "op": "<", "threshold": 1}] * 2, DEFAULTS)


def test_every_result_type_is_flattened_to_series():
    assert parse_result({"resultType": "scalar", "result": [0, "2.5"]}) == [{"metric": {}, "values": [2.5]}]
    assert parse_result(vector(1, 0))[1] == {"metric": {"host": "app2"}, "values": [0.0]}
    matrix = {"resultType": "matrix", "result": [{"metric": {"a": "b"}, "values": [[0, "1"], [1, "NaN"]]}]}
    (series,) = parse_result(matrix)
    assert series["values"][0] == 1.0 and series["values"][1] != series["values"][1]
    with pytest.raises(ConfigurationError, match="string"):
        parse_result({"resultType": "string", "result": [0, "x"]})


def test_all_intervals_passes_only_after_every_evaluation_passed():
    result, clock = gate(
        {"err": [vector(0.01, 0.0)]},
        [{"name": "err", "query": "err", "op": "<", "threshold": 0.05}],
        duration=30,
        interval=10,
    )
    assert result["passed"] is True
    assert result["evaluation_count"] == 4
    assert clock.sleeps == [10, 10, 10]
    assert [e["passed"] for e in result["evaluations"]] == [True] * 4


def test_all_intervals_stops_at_the_first_failing_evaluation_and_names_the_series():
    answers = {"err": [vector(0.0, 0.0), vector(0.0, 0.5)]}
    checks = [{"name": "err", "query": "err", "op": "<", "threshold": 0.05}]
    with pytest.raises(GateFailed) as info:
        gate(answers, checks, duration=60, interval=10)
    message = str(info.value)
    assert message == "metrics gate failed: check 'err' {host=\"app2\"} = 0.5, not < 0.05, at evaluation 2 of 7"
    assert info.value.details["evaluation_count"] == 2
    assert info.value.details["failed_checks"][0]["value"] == 0.5


def test_eventually_retries_until_an_evaluation_passes():
    answers = {"up": [vector(0), vector(0), vector(1)]}
    result, _clock = gate(
        answers, [{"query": "up", "op": "==", "threshold": 1}], policy="eventually", retries=5, interval=1
    )
    assert result["passed"] is True
    assert result["evaluation_count"] == 3
    assert result["failed_checks"] == []


def test_eventually_fails_when_the_duration_runs_out_without_failing_the_task():
    answers = {"up": [vector(0)]}
    result, _clock = gate(
        answers,
        [{"query": "up", "op": "==", "threshold": 1}],
        policy="eventually",
        duration=3,
        interval=1,
        fail_on_gate=False,
    )
    assert result["passed"] is False
    assert result["evaluation_count"] == 4
    assert result["msg"].startswith("metrics gate failed before the duration ran out: check 'check1'")


def test_nan_samples_count_as_no_data_and_follow_empty_result():
    nan = {"resultType": "vector", "result": [{"metric": {}, "value": [0, "NaN"]}]}
    check = {"name": "ratio", "query": "ratio", "op": "<", "threshold": 0.1}
    with pytest.raises(GateFailed, match="returned no data"):
        gate({"ratio": [nan]}, [check])
    result, _clock = gate({"ratio": [nan]}, [dict(check, empty_result="pass")])
    assert result["passed"] is True
    assert result["evaluations"][0]["checks"][0]["status"] == "no_data"


def test_ignored_missing_data_makes_eventually_wait_for_data():
    empty = {"resultType": "vector", "result": []}
    answers = {"ratio": [empty, vector(0.5)]}
    check = {"name": "ratio", "query": "ratio", "op": "<", "threshold": 0.1, "empty_result": "ignore"}
    result, _clock = gate(answers, [check], policy="eventually", retries=1, interval=1, fail_on_gate=False)
    assert result["passed"] is False
    assert result["evaluation_count"] == 2
    result, _clock = gate({"ratio": [empty]}, [check], policy="eventually", retries=2, interval=1)
    assert result["passed"] is True and result["evaluation_count"] == 3


@pytest.mark.parametrize("url", ["", "localhost:9090", "ftp://x", "http://"])
def test_client_refuses_urls_that_are_not_http(url):
    with pytest.raises(ConfigurationError, match="base URL of a Prometheus server"):
        PrometheusClient(url)


def test_unreachable_server_is_one_line():
    from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError
    from tests.support.servers import free_port

    client = PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ConveyorError) as info:
        client.query("up")
    assert "cannot reach Prometheus" in str(info.value) and "\n" not in str(info.value)
