"""playbooks/deploy.yml with an application described by inventory variables, not by the sample app's values."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.support.paths import ROOT
from tests.support.playbook import run_playbook
from tests.support.rollout import get_json, local_inventory, publish, stop_hosts
from tests.support.servers import free_port


@pytest.fixture
def env(tmp_path):
    state = tmp_path / "state"
    ports = {host: free_port() for host in ("app1", "app2", "app3")}
    inventory = local_inventory(tmp_path, state, ports)
    yield {"state": state, "ports": ports, "inventory": str(inventory)}
    stop_hosts(state)


def deploy(env, environment, version, **extra):
    extra_vars = {"deploy_environment": environment, "deploy_version": version, **extra}
    return run_playbook(ROOT / "playbooks" / "deploy.yml", inventory=env["inventory"], extra_vars=extra_vars)


def requested_paths(env, host) -> list[str]:
    log = env["state"] / "hosts" / host / "shared" / "logs" / "access.log"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [line["path"] for line in lines if line.get("event") == "request"]


def test_the_deploy_takes_the_release_published_under_conveyor_app_name(env, releases):
    repo = env["state"] / "artifacts" / "staging"
    publish(repo, "shop", "1.0.0", releases["1.0.0"])
    run = deploy(env, "staging", "1.0.0", conveyor_app_name="shop")
    assert run.rc == 0, run.output
    assert get_json(f"http://127.0.0.1:{env['ports']['app1']}/version")[1]["version"] == "1.0.0"
    assert (env["state"] / "hosts" / "app1" / "releases").is_dir()


def test_the_canary_re_check_probes_the_health_path_of_an_app_that_reports_no_version(env, releases):
    """An application without a version endpoint: the rollout and the canary re-check GET deploy_health_path only."""
    repo = env["state"] / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, "conveyor-sample-app", version, releases[version])
    # /metrics stands for the health endpoint of an app without /version (the sample app's /healthz also needs a
    # migrated database, which these tests do not create)
    health = {"deploy_health_path": "/metrics", "deploy_health_version_path": "", "deploy_canary_checks": 3}
    first = deploy(env, "production", "1.0.0", deploy_strategy="canary", **health)
    assert first.rc == 0, first.output[-3000:]
    run = deploy(env, "production", "2.0.0", deploy_strategy="canary", **health)
    assert run.rc == 0, run.output
    recheck = run.result("Re-check the canary", host="app2")
    assert recheck["url"].endswith("/metrics") and recheck["attempts"] == 3, recheck
    paths = requested_paths(env, "app2")
    assert "/version" not in paths, paths
    assert paths.count("/metrics") >= 4  # the rollout's check and the three re-checks


def test_the_canary_re_check_of_the_sample_app_still_checks_its_version(env, releases):
    repo = env["state"] / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, "conveyor-sample-app", version, releases[version])
    assert deploy(env, "production", "1.0.0", deploy_strategy="canary").rc == 0
    run = deploy(env, "production", "2.0.0", deploy_strategy="canary")
    assert run.rc == 0, run.output
    recheck = run.result("Re-check the canary", host="app2")
    assert recheck["url"].endswith("/version") and recheck["healthy"] is True, recheck
    assert "/version" in requested_paths(env, "app2")


def test_the_pipeline_leaves_the_metric_gate_to_the_inventory():
    plays = yaml.safe_load((ROOT / "playbooks" / "pipeline.yml").read_text())
    assert all("deploy_canary_metrics_gate" not in (play.get("vars") or {}) for play in plays)
    local = yaml.safe_load((ROOT / "inventories" / "local" / "group_vars" / "all.yml").read_text())
    assert local["deploy_canary_metrics_gate"] is True
