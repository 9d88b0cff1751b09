"""A failing canary, deployed by playbooks/deploy.yml with the callback on, is a failed change of its environment."""

from __future__ import annotations

import sqlite3

import pytest

from tests.support.paths import ROOT
from tests.support.playbook import run_playbook, run_tasks
from tests.support.rollout import get_json, local_inventory, make_release, publish, stop_hosts
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

NAME = "conveyor-sample-app"


@pytest.fixture
def pipeline(tmp_path):
    state = tmp_path / "state"
    ports = {host: free_port() for host in ("app2", "app3")}
    inventory = local_inventory(tmp_path, state, ports)
    repo = state / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, NAME, version, make_release(tmp_path / "artifacts", version))
    publish(repo, NAME, "9.9.9", make_release(tmp_path / "artifacts", "9.9.9", broken=True))
    db = state / "events.db"
    yield {"state": state, "ports": ports, "inventory": str(inventory), "tmp": tmp_path, "db": db}
    stop_hosts(state)


def deploy(pipeline, version, **extra):
    extra_vars = {"deploy_environment": "production", "deploy_strategy": "canary", "deploy_version": version, **extra}
    return run_playbook(
        ROOT / "playbooks" / "deploy.yml",
        inventory=pipeline["inventory"],
        extra_vars=extra_vars,
        env={"ANSIBLE_CALLBACKS_ENABLED": "conveyor.cicd.pipeline_events", "CONVEYOR_EVENTS_DB": str(pipeline["db"])},
    )


def test_failed_canaries_are_failed_changes_of_their_environment(pipeline):
    assert deploy(pipeline, "1.0.0").rc == 0
    # the canary switches to 2.0.0 and passes its own health check; a gate after the switch refuses it
    gate = pipeline["tmp"] / "failing_gate.yml"
    gate.write_text("- name: A gate that refuses\n  ansible.builtin.fail:\n    msg: the error rate is too high\n")
    refused = deploy(pipeline, "2.0.0", deploy_canary_gate_tasks=str(gate))
    assert refused.rc != 0
    # the canary's own health check fails (every request answers 500): the rollout restores 1.0.0 by itself
    broken = deploy(pipeline, "9.9.9", deploy_health_retries=3)
    assert broken.rc != 0
    for host in ("app2", "app3"):
        assert get_json(f"http://127.0.0.1:{pipeline['ports'][host]}/version")[1]["version"] == "1.0.0"

    connection = sqlite3.connect(pipeline["db"])
    try:
        rows = connection.execute("SELECT environment, kind, version, host FROM deployments ORDER BY at").fetchall()
    finally:
        connection.close()
    assert {row[0] for row in rows} == {"production"}, rows  # nothing under "unknown"
    # the canary's rollback after the gate, of production too
    assert [(row[1], row[3]) for row in rows if row[1] == "rollback"] == [("rollback", "app2")]
    # and it records the release it went back to, not the one it left
    assert [row[2] for row in rows if row[1] == "rollback"] == ["1.0.0"]

    run = run_tasks(
        pipeline["tmp"],
        [
            {
                "name": "DORA",
                "conveyor.cicd.dora_metrics": {"db_path": str(pipeline["db"]), "environment": "production"},
                "register": "dora",
            }
        ],
    )
    assert run.rc == 0, run.output[-3000:]
    dora = run.result("DORA")
    # three production deployments: 1.0.0 succeeded, the 2.0.0 and 9.9.9 canaries were rolled back
    assert dora["change_failure_rate"]["deployments"] == 3
    assert dora["change_failure_rate"]["failed_deployments"] == 2
    assert dora["change_failure_rate"]["percent"] == 66.7
    assert dora["deployment_frequency"]["successful"] == 1
