"""conveyor.cicd.metrics_gate through real ansible-playbook runs against a real Prometheus."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.monitoring.conftest import GATE_ERROR_RATIO, GATE_P95
from tests.support.playbook import run_tasks
from tests.support.prometheus import generate_traffic
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


def gate_task(url, host, **extra):
    return {
        "name": "Gate",
        "conveyor.cicd.metrics_gate": {
            "url": url,
            "duration": 2,
            "interval": 1,
            "checks": [
                {"name": "error_ratio", "query": GATE_ERROR_RATIO.format(host=host), "op": "<", "threshold": 0.1},
                {"name": "latency_p95", "query": GATE_P95.format(host=host), "op": "<", "threshold": 1},
            ],
            **extra,
        },
        "register": "gate",
        "ignore_errors": True,
    }


class Traffic:
    """Keeps a bounded trickle of requests going while a gate runs, so rates stay defined."""

    def __init__(self, *ports):
        self.ports = ports
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        # Bounded by time, not by rounds: a slow playbook start must not outlast the traffic,
        # or the rates turn into 0/0 and the gate sees no data.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not self.stop.wait(0.1):
            for port in self.ports:
                generate_traffic(port, 2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)


def test_gate_blocks_a_canary_whose_error_ratio_is_high(tmp_path, canary_stack):
    with Traffic(canary_stack["canary"].port):
        run = run_tasks(tmp_path, [gate_task(canary_stack["prometheus"].url, "canary")])
    result = run.result("Gate")
    assert result["failed"] is True
    assert result["passed"] is False
    assert result["evaluation_count"] == 1  # all_intervals stops at the first failing evaluation
    assert result["msg"].startswith("metrics gate failed: check 'error_ratio' {host=\"canary\"} = 0.")
    assert "not < 0.1, at evaluation 1 of 3" in result["msg"]
    (failed,) = result["failed_checks"]
    assert failed["name"] == "error_ratio" and failed["value"] == pytest.approx(0.5, abs=0.1)


def test_gate_passes_a_healthy_host_at_every_interval(tmp_path, canary_stack):
    with Traffic(canary_stack["stable"].port):
        run = run_tasks(tmp_path, [gate_task(canary_stack["prometheus"].url, "stable")])
    result = run.result("Gate")
    assert result.get("failed") is not True, result["msg"]
    assert result["passed"] is True and result["changed"] is False
    assert result["evaluation_count"] == 3
    assert all(e["passed"] for e in result["evaluations"])
    checks = result["evaluations"][-1]["checks"]
    assert [c["value"] for c in checks if c["name"] == "error_ratio"] == [0.0]
    assert checks[1]["series"][0]["metric"] == {"host": "stable"}


def test_gate_runs_the_same_queries_in_check_mode(tmp_path, canary_stack):
    with Traffic(canary_stack["canary"].port):
        run = run_tasks(tmp_path, [gate_task(canary_stack["prometheus"].url, "canary", fail_on_gate=False)], check=True)
    result = run.result("Gate")
    assert result.get("failed") is not True
    assert result["passed"] is False and result["changed"] is False
    assert result["failed_checks"][0]["name"] == "error_ratio"


def test_role_gate_entry_point_judges_the_canary_hosts(tmp_path, canary_stack):
    url = canary_stack["prometheus"].url

    def include(hosts):
        return {
            "name": f"Gate {hosts[0]}",
            "ansible.builtin.include_role": {"name": "conveyor.cicd.monitoring", "tasks_from": "gate"},
            "vars": {
                "conveyor_app_name": "sample_app",
                "monitoring_metric_prefix": "sample_app",
                "monitoring_gate_url": url,
                "monitoring_gate_hosts": hosts,
                "monitoring_gate_window": "10s",
                "monitoring_gate_duration": "2s",
                "monitoring_gate_interval": "1s",
                "monitoring_gate_fail": False,
            },
        }

    tasks = [
        include(["stable"]),
        {"name": "Stable verdict", "ansible.builtin.set_fact": {"stable_gate": "{{ monitoring_gate_result }}"}},
        include(["canary"]),
        {"name": "Canary verdict", "ansible.builtin.set_fact": {"canary_gate": "{{ monitoring_gate_result }}"}},
    ]
    with Traffic(canary_stack["stable"].port, canary_stack["canary"].port):
        run = run_tasks(tmp_path, tasks)
    assert run.rc == 0, run.output[-3000:]
    stable = run.result("Stable verdict")["ansible_facts"]["stable_gate"]
    canary = run.result("Canary verdict")["ansible_facts"]["canary_gate"]
    assert stable["passed"] is True, stable["msg"]
    assert [c["name"] for c in stable["evaluations"][0]["checks"]] == ["up", "error_ratio", "latency_p95"]
    assert canary["passed"] is False
    assert [c["name"] for c in canary["failed_checks"]] == ["error_ratio"]


def test_role_gate_is_skipped_with_a_message_when_prometheus_is_absent(tmp_path):
    tasks = [
        {
            "name": "Gate",
            "ansible.builtin.include_role": {"name": "conveyor.cicd.monitoring", "tasks_from": "gate"},
            "vars": {
                "monitoring_gate_url": f"http://127.0.0.1:{free_port()}",
                "monitoring_gate_when_unavailable": "skip",
            },
        }
    ]
    run = run_tasks(tmp_path, tasks)
    assert run.rc == 0, run.output[-2000:]
    assert run.result("Report that the metric gate is skipped")["msg"].startswith(
        "Metric gate skipped: Prometheus does not answer"
    )


def test_bad_input_fails_with_one_line_and_no_traceback(tmp_path, canary_stack):
    url = canary_stack["prometheus"].url
    cases = {
        "bad op": {"url": url, "checks": [{"query": "up", "op": "=~", "threshold": 1}]},
        "bad url": {"url": "localhost:9090", "checks": [{"query": "up", "op": "<", "threshold": 1}]},
        "unreachable": {
            "url": f"http://127.0.0.1:{free_port()}",
            "timeout": 2,
            "checks": [{"query": "up", "op": "<", "threshold": 1}],
        },
        "invalid promql": {
            "url": url,
            "checks": [{"name": "broken", "query": "sum(rate(x[1m]", "op": "<", "threshold": 1}],
        },
        "not prometheus": {"url": url + "/graph", "checks": [{"query": "up", "op": "<", "threshold": 1}]},
        "bad duration": {"url": url, "duration": "5 minutes", "checks": [{"query": "up", "op": "<", "threshold": 1}]},
        "secret kept": {
            "url": url + "/nowhere",
            "url_username": "ops",
            "url_password": "s3cret-pw",
            "checks": [{"query": "up", "op": "<", "threshold": 1}],
        },
    }
    tasks = [{"name": name, "conveyor.cicd.metrics_gate": args, "ignore_errors": True} for name, args in cases.items()]
    run = run_tasks(tmp_path, tasks)
    messages = {name: run.result(name)["msg"] for name in cases}
    for name, message in messages.items():
        assert run.result(name)["failed"] is True, name
        assert "\n" not in message and "Traceback" not in message, (name, message)
    assert "=~" in messages["bad op"] and "op" in messages["bad op"]
    assert "base URL of a Prometheus server" in messages["bad url"]
    assert messages["unreachable"].startswith("cannot reach Prometheus at http://127.0.0.1:")
    assert messages["invalid promql"].startswith("Prometheus rejected the query (bad_data):")
    assert "parse error" in messages["invalid promql"]
    assert "does not exist (HTTP 404)" in messages["not prometheus"]
    assert "duration must be a number of seconds" in messages["bad duration"]
    assert "s3cret-pw" not in run.output
