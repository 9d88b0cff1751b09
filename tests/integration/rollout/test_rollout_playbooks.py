"""playbooks/deploy.yml and rollback.yml on the local inventory (app1 staging, app2+app3 production)."""

from __future__ import annotations

import pytest

from tests.support.paths import ROOT
from tests.support.playbook import run_playbook
from tests.support.rollout import get_json, local_inventory, publish, stop_hosts
from tests.support.servers import free_port

NAME = "conveyor-sample-app"


@pytest.fixture
def env(tmp_path):
    state = tmp_path / "state"
    ports = {host: free_port() for host in ("app1", "app2", "app3")}
    inventory = local_inventory(tmp_path, state, ports)
    yield {"state": state, "ports": ports, "inventory": str(inventory), "tmp": tmp_path}
    stop_hosts(state)


def deploy(env, environment, version, **extra):
    extra_vars = {"deploy_environment": environment, "deploy_version": version, **extra}
    return run_playbook(ROOT / "playbooks" / "deploy.yml", inventory=env["inventory"], extra_vars=extra_vars)


def changed_tasks(run) -> list[str]:
    return [
        f"{host}: {task['task']['name']}"
        for play in run.data.get("plays", [])
        for task in play.get("tasks", [])
        for host, result in task.get("hosts", {}).items()
        if result.get("changed")
    ]


def version_on(env, host) -> str:
    return get_json(f"http://127.0.0.1:{env['ports'][host]}/version")[1]["version"]


def test_staging_rolling_then_production_canary_and_second_run_changes_nothing(env, releases):
    repo = env["state"] / "artifacts" / "staging"
    publish(repo, NAME, "1.0.0", releases["1.0.0"])
    staging = deploy(env, "staging", "1.0.0", deploy_strategy="rolling")
    assert staging.rc == 0, staging.output
    assert version_on(env, "app1") == "1.0.0"
    production = deploy(env, "production", "1.0.0", deploy_strategy="canary")
    assert production.rc == 0, production.output
    assert {version_on(env, h) for h in ("app2", "app3")} == {"1.0.0"}
    again = deploy(env, "production", "1.0.0", deploy_strategy="canary")
    assert again.rc == 0, again.output
    assert changed_tasks(again) == []
    assert again.stats["app2"]["changed"] == 0 and again.stats["app3"]["changed"] == 0


def test_failing_canary_is_rolled_back_and_the_rest_is_not_deployed(env, releases):
    repo = env["state"] / "artifacts" / "staging"
    publish(repo, NAME, "1.0.0", releases["1.0.0"])
    publish(repo, NAME, "9.9.9", releases["broken"])
    assert deploy(env, "production", "1.0.0", deploy_strategy="canary").rc == 0
    bad = deploy(env, "production", "9.9.9", deploy_strategy="canary", deploy_health_retries=3)
    assert bad.rc != 0
    assert version_on(env, "app2") == "1.0.0"  # the canary: its own health check failed and it rolled back
    assert version_on(env, "app3") == "1.0.0"  # never touched
    assert "app3" not in bad.stats or bad.stats["app3"]["changed"] == 0


def test_a_canary_failing_a_gate_after_the_switch_is_rolled_back_to_the_previous_release(env, releases):
    """The canary's own health check passes; an extra gate after the switch fails: the rescue rolls it back."""
    repo = env["state"] / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, NAME, version, releases[version])
    assert deploy(env, "production", "1.0.0", deploy_strategy="canary").rc == 0
    gate = env["tmp"] / "failing_gate.yml"
    gate.write_text("- name: A gate that refuses\n  ansible.builtin.fail:\n    msg: the error rate is too high\n")
    bad = deploy(env, "production", "2.0.0", deploy_strategy="canary", deploy_canary_gate_tasks=str(gate))
    assert bad.rc != 0
    assert "the error rate is too high" in bad.output
    assert "it was rolled back to 1.0.0" in bad.output, bad.output
    assert version_on(env, "app2") == "1.0.0"
    assert version_on(env, "app3") == "1.0.0"


def test_rollback_playbook_goes_back_one_release(env, releases):
    repo = env["state"] / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, NAME, version, releases[version])
        assert deploy(env, "staging", version).rc == 0
    assert version_on(env, "app1") == "2.0.0"
    back = run_playbook(
        ROOT / "playbooks" / "rollback.yml", inventory=env["inventory"], extra_vars={"deploy_environment": "staging"}
    )
    assert back.rc == 0, back.output
    assert version_on(env, "app1") == "1.0.0"


def test_approval_gate_refuses_an_unattended_run(env, releases):
    publish(env["state"] / "artifacts" / "staging", NAME, "1.0.0", releases["1.0.0"])
    run = deploy(env, "staging", "1.0.0", deploy_require_approval=True)
    assert run.rc != 0
    assert "was not approved" in run.output
    assert not (env["state"] / "hosts" / "app1" / "current").exists()


def test_blue_green_switches_the_proxy_and_rolls_back_instantly(env, releases):
    from tests.support.paths import require_binary

    require_binary("nginx", "blue_green puts nginx in front of the two slots")
    repo = env["state"] / "artifacts" / "staging"
    proxy = free_port()
    extra = {
        "deploy_strategy": "blue_green",
        "deploy_proxy_port": proxy,
        "deploy_blue_green_ports": {"blue": free_port(), "green": free_port()},
    }
    for version in ("1.0.0", "2.0.0"):
        publish(repo, NAME, version, releases[version])
        run = deploy(env, "staging", version, **extra)
        assert run.rc == 0, run.output
        assert get_json(f"http://127.0.0.1:{proxy}/version")[1]["version"] == version
    again = deploy(env, "staging", "2.0.0", **extra)
    assert again.rc == 0 and changed_tasks(again) == []
    slots = env["state"] / "hosts" / "app1"
    assert (slots / "blue" / "current").is_symlink() and (slots / "green" / "current").is_symlink()
    back = run_playbook(
        ROOT / "playbooks" / "rollback.yml",
        inventory=env["inventory"],
        extra_vars={"deploy_environment": "staging", **extra},
    )
    assert back.rc == 0, back.output
    assert get_json(f"http://127.0.0.1:{proxy}/version")[1]["version"] == "1.0.0"
