"""The real server, started as a process, answering HTTP on a free port."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sample_app import NAME, __version__

APP_ROOT = Path(__file__).resolve().parents[2]


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition, 0 if the series is absent."""
    label_text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    series = f"{name}{{{label_text}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(f"{series} "):
            return float(line.split(" ")[1])
    return 0.0


@pytest.fixture
def server(start_server, migrated_sqlite, tmp_path):
    return start_server(
        "--database",
        migrated_sqlite,
        "--log-dir",
        str(tmp_path / "logs"),
        "--pid-file",
        str(tmp_path / "run" / "sample-app.pid"),
        env={"SAMPLE_APP_COMMIT": "1a2b3c4"},
    )


def test_every_endpoint_answers_and_sigterm_stops_cleanly(server, tmp_path):
    pid_file = tmp_path / "run" / "sample-app.pid"
    assert pid_file.read_text().strip() == str(server.process.pid)

    health = server.request("/healthz")
    assert health.status == 200
    assert health.headers["Content-Type"] == "application/json"
    assert health.json() == {"status": "ok", "database": "ok"}

    version = server.request("/version")
    assert version.status == 200
    assert version.json() == {"name": NAME, "version": __version__, "commit": "1a2b3c4"}

    items = server.request("/items?limit=ignored")
    assert items.status == 200
    assert [item["name"] for item in items.json()["items"]] == [
        "conveyor belt",
        "parcel scanner",
        "sorting gate",
    ]

    missing = server.request("/no/such/page")
    assert missing.status == 404
    assert missing.json() == {"error": "not found: /no/such/page"}

    assert server.request("/healthz", method="POST").status == 405
    head = server.request("/version", method="HEAD")
    assert (head.status, head.body) == (200, b"")

    metrics = server.request("/metrics")
    assert metrics.status == 200
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert metric(text, "sample_app_requests_total", path="/healthz", status="200") == 1
    assert metric(text, "sample_app_requests_total", path="/items", status="200") == 1
    assert metric(text, "sample_app_requests_total", path="other", status="404") == 1
    assert metric(text, "sample_app_errors_total") == 0
    assert metric(text, "sample_app_request_duration_seconds_count") == 6
    assert metric(text, "sample_app_request_duration_seconds_bucket", le="+Inf") == 6
    assert metric(text, "sample_app_info", version=__version__) == 1

    assert server.stop() == 0
    assert not pid_file.exists(), "the pid file must be removed on SIGTERM"

    lines = [json.loads(line) for line in (tmp_path / "logs" / "access.log").read_text().splitlines()]
    events = [line["event"] for line in lines]
    assert events[0] == "started"
    assert events[-2:] == ["stopping", "stopped"]
    requests = [line for line in lines if line["event"] == "request"]
    assert [(r["method"], r["path"], r["status"]) for r in requests[:3]] == [
        ("GET", "/healthz", 200),
        ("GET", "/version", 200),
        ("GET", "/items", 200),
    ]
    assert all(r["user_agent"] == "sample-app-e2e" and r["duration_ms"] >= 0 for r in requests)


def test_error_rate_half_fails_every_second_request_and_metrics_count_them(start_server, migrated_sqlite):
    server = start_server("--database", migrated_sqlite, env={"SAMPLE_APP_ERROR_RATE": "0.5"})
    statuses = [server.request(path).status for path in ["/healthz", "/version", "/items"] * 4]
    assert statuses == [200, 500] * 6
    failed = server.request("/healthz")  # the 13th request: passes, the 14th fails
    assert failed.status == 200
    injected = server.request("/version")
    assert injected.status == 500
    assert injected.json() == {"error": "injected failure (error rate 0.5)"}

    text = server.request("/metrics").text  # /metrics itself is never failed
    assert server.request("/metrics").status == 200
    assert metric(text, "sample_app_errors_total") == 7
    failures = sum(
        metric(text, "sample_app_requests_total", path=path, status="500")
        for path in ["/healthz", "/version", "/items"]
    )
    assert failures == 7
    assert metric(text, "sample_app_request_duration_seconds_count") == 14
    assert server.stop() == 0


def test_items_without_migrations_is_503_and_health_stays_ok(start_server, tmp_path):
    server = start_server("--database", str(tmp_path / "fresh.db"))
    assert server.request("/healthz").status == 200
    items = server.request("/items")
    assert items.status == 503
    assert "run the migrations first" in items.json()["error"]
    assert server.stop() == 0


def test_unusable_database_makes_health_degraded(start_server, tmp_path):
    server = start_server("--database", str(tmp_path / "missing-dir" / "app.db"))
    health = server.request("/healthz")
    assert health.status == 503
    assert health.json()["status"] == "degraded"
    # Without --log-dir the JSON lines go to stderr.
    assert server.stop() == 0
    first = json.loads(server.stderr.splitlines()[0])
    assert first["event"] == "started"
    assert first["port"] == server.port


@pytest.mark.parametrize(
    ("flags", "env", "expected"),
    [
        (["--error-rate", "1.7"], {}, "--error-rate='1.7' is not an error rate"),
        ([], {"SAMPLE_APP_PORT": "abc"}, "SAMPLE_APP_PORT='abc' is not a TCP port"),
    ],
)
def test_bad_configuration_exits_2_without_a_traceback(flags, env, expected, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sample_app", *flags],
        env={"PYTHONPATH": str(APP_ROOT / "src"), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert re.fullmatch(rf"sample-app: error: .*{re.escape(expected)}.*\n", result.stderr)
    assert "Traceback" not in result.stderr


def test_port_in_use_is_one_line_and_exit_1(start_server, migrated_sqlite):
    first = start_server("--database", migrated_sqlite)
    result = subprocess.run(
        [sys.executable, "-m", "sample_app", "--port", str(first.port), "--database", migrated_sqlite],
        env={"PYTHONPATH": str(APP_ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"sample-app: error: cannot listen on 127.0.0.1:{first.port}: ")
    assert result.stderr.count("\n") == 1
