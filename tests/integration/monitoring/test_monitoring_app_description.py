"""roles/monitoring follows the application description: scrape addresses, job name, generic rules and gate."""

from __future__ import annotations

import pytest
import yaml

from tests.integration.monitoring.test_monitoring_role_playbook import write_play
from tests.support.paths import require_binary
from tests.support.playbook import run_playbook, run_tasks
from tests.support.prometheus import start_sample_app
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


def render(tmp_path, inventory: dict, **role_vars):
    """Run the role without starting anything; return the run, the written configuration and the rules."""
    require_binary("promtool", "Debian package prometheus")
    hosts = tmp_path / "hosts.yml"
    hosts.write_text(yaml.safe_dump(inventory))
    base = tmp_path / "m"
    play = write_play(
        tmp_path / "render.yml",
        {"monitoring_service_manager": "command", "monitoring_base_dir": str(base), "monitoring_start": False}
        | role_vars,
    )
    run = run_playbook(play, inventory=str(hosts))
    assert run.rc == 0, run.output[-3000:]
    config = yaml.safe_load((base / "config" / "prometheus.yml").read_text())
    rules = yaml.safe_load((base / "config" / "rules" / "conveyor_app.rules.yml").read_text())
    return run, config, rules


def app_inventory(app_hosts: dict, app_vars: dict | None = None) -> dict:
    return {
        "all": {
            "children": {
                "controller": {"hosts": {"localhost": {"ansible_connection": "local"}}},
                "app": {"hosts": app_hosts, "vars": app_vars or {}},
            }
        }
    }


def job(config: dict, name: str) -> dict | None:
    return next((j for j in config["scrape_configs"] if j["job_name"] == name), None)


def test_target_addresses_follow_the_hosts_connection_and_explicit_address(tmp_path):
    # the embedded inventory's shape: the connection as a group variable, spelled by its full name
    inventory = app_inventory(
        {
            "web1": {"deploy_port": 28081},
            "web2": {"deploy_port": 28082, "monitoring_target_address": "10.0.0.7"},
            "web3": {"deploy_port": 28083, "ansible_host": "192.0.2.3", "ansible_connection": "ssh"},
            "web4": {"ansible_connection": "ssh"},
        },
        {"ansible_connection": "ansible.builtin.local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
    )
    config = render(tmp_path, inventory, conveyor_app_name="shop-api")[1]
    targets = {c["labels"]["host"]: c["targets"][0] for c in job(config, "shop_api")["static_configs"]}
    assert targets == {
        "web1": "127.0.0.1:28081",  # a local connection: loopback, never the unresolvable inventory name
        "web2": "10.0.0.7:28082",  # monitoring_target_address wins
        "web3": "192.0.2.3:28083",  # ansible_host
        "web4": "web4:8080",  # a remote host without an address: its name, and the default port
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [("pypiserver", "pypiserver"), ("conveyor-sample-app", "conveyor_sample_app"), ("9.app", "_9_app")],
)
def test_the_job_is_the_application_name_made_prometheus_safe(tmp_path, name, expected):
    config, rules = render(tmp_path, app_inventory({"web1": {"ansible_connection": "local"}}), conveyor_app_name=name)[
        1:
    ]
    assert job(config, expected) is not None
    assert rules["groups"][0]["rules"][0]["expr"] == f'up{{job="{expected}"}} == 0'


def test_an_app_without_request_metrics_gets_the_generic_up_rule_and_its_tests_pass(tmp_path):
    run, config, rules = render(tmp_path, app_inventory({"web1": {"ansible_connection": "local"}}))
    assert job(config, "app")["metrics_path"] == "/metrics"  # no conveyor_app_name: the job is "app"
    assert [r["alert"] for r in rules["groups"][0]["rules"]] == ["AppDown"]
    tests = run.result("Run the alert rule unit tests")
    assert (tests["tests"], tests["passed"], tests["exit_code"]) == (1, 1, 0)
    rendered = (tmp_path / "m" / "config" / "rules" / "conveyor_app.rules_test.yml").read_text()
    assert "sample_app" not in rendered and "_errors_total" not in rendered


def test_an_app_that_exports_no_metrics_is_not_scraped_and_has_no_rules(tmp_path):
    run, config, rules = render(
        tmp_path, app_inventory({"web1": {"ansible_connection": "local"}}), monitoring_app_metrics_path=""
    )
    assert job(config, "app") is None
    assert job(config, "node")["static_configs"][0]["targets"] == ["127.0.0.1:9100"]
    assert rules["groups"][0]["rules"] == []
    assert run.result("Run the alert rule unit tests")["exit_code"] == 0


def test_the_gate_of_an_app_without_metrics_is_its_health_probe(tmp_path):
    app = start_sample_app(tmp_path, name="web1")
    try:

        def gate(name, url):
            return {
                "name": name,
                "ansible.builtin.include_role": {"name": "conveyor.cicd.monitoring", "tasks_from": "gate"},
                "vars": {
                    "monitoring_app_metrics_path": "",
                    "monitoring_gate_health_url": url,
                    "monitoring_gate_url": f"http://127.0.0.1:{free_port()}",
                    "monitoring_gate_when_unavailable": "fail",
                    "monitoring_gate_timeout": 2,
                },
            }

        tasks = [
            gate("Healthy", f"http://127.0.0.1:{app.port}/healthz"),
            {
                "name": "Unhealthy",
                "block": [gate("Gate a dead host", f"http://127.0.0.1:{free_port()}/healthz")],
                "rescue": [{"name": "Refused", "ansible.builtin.set_fact": {"refused": "{{ ansible_failed_result }}"}}],
            },
        ]
        run = run_tasks(tmp_path, tasks)
    finally:
        app.stop()
    assert run.rc == 0, run.output[-3000:]
    probes = [t for t in run.tasks() if t["_task"].endswith("Probe the application's health URL before gating")]
    assert probes[0]["healthy"] is True
    skipped = run.result("Report that the application exports no metrics to gate on")["msg"]
    assert skipped.startswith("Metric gate skipped: app exports no metrics (monitoring_app_metrics_path is empty)")
    refused = run.result("Refused")["ansible_facts"]["refused"]
    assert refused["healthy"] is False and "\n" not in refused["msg"]
    # Prometheus (absent here, with when_unavailable=fail) is never asked: there is nothing to ask it
    gates = [t for t in run.tasks() if t["_task"].endswith("Gate on the canary metrics")]
    assert gates and all(t.get("skipped") for t in gates)
