"""roles/monitoring in command mode: real Prometheus, Pushgateway and node_exporter processes on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.support.kill import stop_pid_file
from tests.support.paths import require_binary
from tests.support.playbook import run_playbook, run_tasks
from tests.support.prometheus import (
    PrometheusServer,
    generate_traffic,
    http_get,
    start_sample_app,
    wait_until,
)
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

# The sample app's description, as an inventory gives it: its name (the job) and its request metrics' prefix.
SAMPLE_APP = {"conveyor_app_name": "sample_app", "monitoring_metric_prefix": "sample_app"}


def write_play(path, role_vars, hosts="localhost"):
    play = [
        {
            "name": "Monitoring",
            "hosts": hosts,
            "connection": "local",
            "gather_facts": False,
            "roles": [{"role": "conveyor.cicd.monitoring", "vars": role_vars}],
        }
    ]
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return path


def write_inventory(path, app_ports):
    inventory = {
        "all": {
            "children": {
                "controller": {"hosts": {"localhost": {"ansible_connection": "local"}}},
                "app": {
                    "hosts": {
                        name: {"ansible_connection": "local", "deploy_port": port} for name, port in app_ports.items()
                    }
                },
            }
        }
    }
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    """The role run once in command mode against one live app host (app1) and one that never starts (app2)."""
    require_binary("prometheus", "Debian package prometheus")
    workdir = tmp_path_factory.mktemp("monitoring")
    app = start_sample_app(workdir, name="app1")
    ports = {"prometheus": free_port(), "pushgateway": free_port(), "node": free_port()}
    role_vars = {
        **SAMPLE_APP,
        "monitoring_service_manager": "command",
        "monitoring_base_dir": str(workdir / "monitoring"),
        "monitoring_prometheus_port": ports["prometheus"],
        "monitoring_pushgateway_port": ports["pushgateway"],
        "monitoring_node_exporter_port": ports["node"],
        "monitoring_node_exporter_collectors": ["loadavg", "meminfo"],
        "monitoring_scrape_interval": "1s",
        "monitoring_evaluation_interval": "1s",
        "monitoring_alert_app_down_for": "1s",
        "monitoring_push_metrics": [
            {
                "name": "conveyor_pipeline_stage_success",
                "value": 1,
                "labels": {"stage": "deploy"},
                "help": "Stage result.",
            }
        ],
    }
    inventory = write_inventory(workdir / "hosts.yml", {"app1": app.port, "app2": free_port()})
    playbook = write_play(workdir / "monitoring.yml", role_vars)
    first = run_playbook(playbook, inventory=inventory)
    run_dir = workdir / "monitoring" / "run"
    state = {
        "workdir": workdir,
        "app": app,
        "first": first,
        "playbook": playbook,
        "inventory": inventory,
        "ports": ports,
        "run_dir": run_dir,
        "prometheus": PrometheusServer("prometheus", [], ports["prometheus"], workdir),
    }
    try:
        assert first.rc == 0, first.output[-4000:]
        yield state
    finally:
        app.stop()
        for name in ("prometheus", "pushgateway", "node_exporter"):
            stop_pid_file(run_dir / f"{name}.pid")


def target_health(prometheus):
    return {(t["labels"]["job"], t["labels"].get("host", "")): t["health"] for t in prometheus.active_targets()}


def test_role_starts_the_servers_and_the_app_target_is_up(monitored):
    prometheus = monitored["prometheus"]
    for name in ("prometheus", "pushgateway", "node_exporter"):
        assert (monitored["run_dir"] / f"{name}.pid").exists(), name
    generate_traffic(monitored["app"].port, 5)

    def scraped():
        # every target has been scraped at least once (a target not scraped yet reports "unknown")
        health = target_health(prometheus)
        wanted = {
            ("sample_app", "app1"): "up",
            ("node", "app1"): "up",
            ("sample_app", "app2"): "down",
            ("pushgateway", ""): "up",
            ("prometheus", ""): "up",
        }
        return health if all(health.get(key) == value for key, value in wanted.items()) else None

    health = wait_until(scraped, 60, "every target scraped")
    assert health[("sample_app", "app2")] == "down"  # a host without a running app is a target, not an error
    assert health[("pushgateway", "")] == "up"
    assert health[("prometheus", "")] == "up"
    assert prometheus.query('sample_app_requests_total{host="app1",path="/items"}')


def test_pushgateway_receives_the_pipeline_metric(monitored):
    status, body = http_get(f"http://127.0.0.1:{monitored['ports']['pushgateway']}/metrics")
    assert status == 200
    assert 'conveyor_pipeline_stage_success{instance="",job="conveyor_pipeline",stage="deploy"} 1' in body.decode()
    found = wait_until(
        lambda: monitored["prometheus"].query('conveyor_pipeline_stage_success{job="conveyor_pipeline"}'),
        20,
        "pushed metric scraped",
    )
    assert found[0]["metric"]["stage"] == "deploy"


def test_app_down_alert_fires_when_the_app_is_stopped(monitored):
    prometheus = monitored["prometheus"]
    wait_until(lambda: target_health(prometheus).get(("sample_app", "app1")) == "up", 30, "app1 up")
    assert not [a for a in prometheus.firing("AppDown") if a["labels"]["host"] == "app1"]
    monitored["app"].stop()
    alerts = wait_until(
        lambda: [a for a in prometheus.firing("AppDown") if a["labels"]["host"] == "app1"],
        30,
        "AppDown firing for app1",
    )
    assert alerts[0]["labels"]["severity"] == "critical"
    assert alerts[0]["annotations"]["summary"].startswith("sample_app on app1 (127.0.0.1:")


def test_second_run_changes_nothing(monitored):
    again = run_playbook(monitored["playbook"], inventory=monitored["inventory"])
    assert again.rc == 0, again.output[-3000:]
    assert again.stats["localhost"]["changed"] == 0, [t for t in again.tasks() if t.get("changed")]
    check = run_playbook(monitored["playbook"], "--diff", inventory=monitored["inventory"], check=True)
    assert check.rc == 0 and check.stats["localhost"]["changed"] == 0


def test_a_changed_rule_threshold_is_predicted_in_check_mode_and_reloaded(monitored, tmp_path):
    playbook = yaml.safe_load(monitored["playbook"].read_text())
    playbook[0]["roles"][0]["vars"]["monitoring_alert_error_ratio_threshold"] = 0.2
    changed = write_play(tmp_path / "changed.yml", playbook[0]["roles"][0]["vars"])
    preview = run_playbook(changed, inventory=monitored["inventory"], check=True, diff=True)
    written = preview.result("Write the Prometheus configuration, alert rules and rule tests")
    assert written["changed"] is True
    rules = monitored["workdir"] / "monitoring" / "config" / "rules"
    # the rules and their unit tests (which follow the threshold) change, the Prometheus configuration does not
    assert written["changed_paths"] == [
        str(rules / "conveyor_app.rules.yml"),
        str(rules / "conveyor_app.rules_test.yml"),
    ]
    applied = run_playbook(changed, inventory=monitored["inventory"])
    assert applied.rc == 0, applied.output[-3000:]
    assert applied.result("Reload prometheus processes")["changed"] is True

    def rule_threshold():
        for group in monitored["prometheus"].api("rules")["groups"]:
            for rule in group["rules"]:
                if rule["name"] == "AppHighErrorRatio" and "> 0.2" in rule["query"]:
                    return True
        return False

    wait_until(rule_threshold, 15, "the reloaded rule with threshold 0.2")


def test_rules_pass_promtool_check_and_the_shipped_rule_tests(monitored):
    promtool = require_binary("promtool", "Debian package prometheus")
    rules = monitored["workdir"] / "monitoring" / "config" / "rules"
    check = subprocess.run(
        [promtool, "check", "rules", str(rules / "conveyor_app.rules.yml")], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "3 rules found" in check.stdout
    test = subprocess.run(
        [promtool, "test", "rules", "conveyor_app.rules_test.yml"],
        cwd=rules,
        capture_output=True,
        text=True,
        check=False,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout


def rule_test_vars(tmp_path, **overrides):
    return {
        **SAMPLE_APP,
        "monitoring_service_manager": "command",
        "monitoring_base_dir": str(tmp_path / "m"),
        "monitoring_start": False,
        **overrides,
    }


def test_shipped_rule_tests_hold_for_other_thresholds_and_are_not_rerun_unchanged(tmp_path):
    role_vars = rule_test_vars(
        tmp_path,
        monitoring_alert_error_ratio_threshold=0.5,
        monitoring_alert_latency_p95_threshold=2,
        monitoring_alert_app_down_for="30m",
    )
    play = write_play(tmp_path / "render.yml", role_vars)
    run = run_playbook(play, inventory="localhost,")
    assert run.rc == 0, run.output[-3000:]
    tests = run.result("Run the alert rule unit tests")
    assert (tests["tests"], tests["passed"], tests["exit_code"], tests["cache"]) == (1, 1, 0, "miss")
    report = ET.parse(tmp_path / "m" / "reports" / "junit-alert_rules.xml").getroot()
    assert report.find(".//testcase").get("name") == "alert_rules" and report.find(".//failure") is None

    again = run_playbook(play, inventory="localhost,")
    assert again.rc == 0, again.output[-3000:]
    assert again.result("Run the alert rule unit tests")["cache"] == "hit"  # same rules, same tests: not rerun
    assert again.stats["localhost"]["changed"] == 0


def test_a_threshold_the_rule_tests_do_not_hold_for_fails_in_one_line(tmp_path):
    # the shipped tests expect the error ratio alert for a host failing every request: not with a threshold of 1.5
    run = run_playbook(
        write_play(tmp_path / "bad.yml", rule_test_vars(tmp_path, monitoring_alert_error_ratio_threshold=1.5)),
        inventory="localhost,",
    )
    assert run.rc != 0
    failed = run.result("Run the alert rule unit tests")
    assert failed["msg"].startswith("alert_rules: 1 of 1 tests failed: alert_rules::alert_rules (exit code 1: ")
    assert "\n" not in failed["msg"] and "Traceback" not in run.output
    assert any("FAILED" in line for line in failed["log_tail"])


def test_an_invalid_rule_is_refused_by_promtool_before_it_is_written(tmp_path):
    role_vars = {
        **SAMPLE_APP,
        "monitoring_service_manager": "command",
        "monitoring_base_dir": str(tmp_path / "m"),
        "monitoring_start": False,
        "monitoring_alert_rate_window": "5 minutes",
    }
    run = run_playbook(write_play(tmp_path / "bad.yml", role_vars), inventory="localhost,")
    assert run.rc != 0
    failed = run.result("Write the Prometheus configuration, alert rules and rule tests")
    assert failed["failed"] is True
    assert "conveyor_app.rules.yml failed validation by " in failed["msg"]
    assert not (tmp_path / "m" / "config" / "rules" / "conveyor_app.rules.yml").exists()


def test_missing_prometheus_is_reported_and_the_play_continues(tmp_path):
    role_vars = {
        "monitoring_service_manager": "command",
        "monitoring_base_dir": str(tmp_path / "m"),
        "monitoring_prometheus_binary": "prometheus-not-installed",
    }
    play = yaml.safe_load(write_play(tmp_path / "missing.yml", role_vars).read_text())
    play[0]["tasks"] = [{"name": "After monitoring", "ansible.builtin.debug": {"msg": "pipeline continues"}}]
    (tmp_path / "missing.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    run = run_playbook(tmp_path / "missing.yml", inventory="localhost,")
    assert run.rc == 0, run.output[-3000:]
    message = run.result("Report the missing monitoring binaries")["msg"]
    assert message.startswith("Monitoring is skipped on localhost: prometheus-not-installed not installed")
    assert run.result("After monitoring")["msg"] == "pipeline continues"
    assert not (tmp_path / "m" / "config").exists()


def test_processes_refuses_a_server_that_dies_at_start(tmp_path):
    prometheus = require_binary("prometheus", "Debian package prometheus")
    pid_file = tmp_path / "p.pid"
    port = free_port()
    argv = [
        prometheus,
        f"--config.file={tmp_path / 'missing.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    run = run_tasks(
        tmp_path,
        f"""
        - name: start
          conveyor.cicd.processes:
            timeout: 5
            processes:
              - name: prometheus
                argv: {json.dumps(argv)}
                pid_file: "{pid_file}"
                wait_port: "127.0.0.1:{port}"
          ignore_errors: true
        """,
    )
    failed = run.result("start")
    assert failed["failed"] is True
    assert "process prometheus exited with code 2 right after start" in failed["msg"]
    assert "missing.yml" in failed["msg"]  # the tail of the server's own log says why
    assert "\n" not in failed["msg"]
    assert not pid_file.exists()  # nothing is left claiming to run
