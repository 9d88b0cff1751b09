"""Every failure point of every strategy of playbooks/deploy.yml, and what each host serves afterwards.

The local inventory's production group (app2, app3) gives two hosts: with ``canary`` app2 is the canary and app3
the rest; with ``rolling`` and ``deploy_serial: 1`` app2 is the first batch and app3 the second. Blue-green runs on
staging (app1) with its own nginx. Each test asserts by HTTP what every host answers on ``/version`` afterwards, and
the statuses the hosts' ``releases.json`` record.
"""

from __future__ import annotations

import json

import pytest

from tests.support.paths import ROOT, require_binary
from tests.support.playbook import run_playbook
from tests.support.prometheus import prometheus_config, start_prometheus
from tests.support.rollout import failures, local_inventory, publish, serving, stop_hosts, version_statuses
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

NAME = "conveyor-sample-app"
# the broken release answers every request with HTTP 500: a short health check is enough to fail it
QUICK = {"deploy_health_retries": 2, "deploy_health_delay": 0.2}
# an after_health hook that stops the new release's process once its own health check has passed: the canary
# re-check afterwards finds nothing listening
CRASH_AFTER_HEALTH = {
    "after_health": [["sh", "-c", 'kill "$(cat "$CONVEYOR_DEPLOY_ROOT/shared/run/app.pid")"']],
}


@pytest.fixture
def env(tmp_path, releases):
    state = tmp_path / "state"
    ports = {host: free_port() for host in ("app1", "app2", "app3")}
    inventory = local_inventory(tmp_path, state, ports)
    repo = state / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, NAME, version, releases[version])
    publish(repo, NAME, "9.9.9", releases["broken"])
    yield {"state": state, "ports": ports, "inventory": inventory, "tmp": tmp_path}
    stop_hosts(state)


@pytest.fixture(scope="module")
def empty_prometheus(tmp_path_factory):
    """A real Prometheus that scrapes nothing: a metric gate asking it about a canary gets no data."""
    server = start_prometheus(tmp_path_factory.mktemp("prometheus"), prometheus_config())
    yield server
    server.stop()


def deploy(env, environment, version, **extra):
    extra_vars = {"deploy_environment": environment, "deploy_version": version, **extra}
    return run_playbook(ROOT / "playbooks" / "deploy.yml", inventory=str(env["inventory"]), extra_vars=extra_vars)


def canary(env, version, **extra):
    return deploy(env, "production", version, deploy_strategy="canary", deploy_canary_check_delay=0.2, **extra)


def root(env, host):
    return env["state"] / "hosts" / host


def on(env, host):
    """What ``host`` answers on /version now (None: nothing listens)."""
    return serving(env["ports"][host])


def snapshot(env, host):
    """releases.json and the current link of ``host``, to prove that a run changed nothing there."""
    path = root(env, host)
    state = (path / "releases.json").read_text() if (path / "releases.json").exists() else None
    current = str((path / "current").readlink()) if (path / "current").is_symlink() else None
    return state, current


# --- rolling ---------------------------------------------------------------------------------------------------
def test_rolling_second_batch_failing_its_health_check_rolls_itself_back_and_keeps_the_first_batch(env):
    """serial 1: app2 (batch 1) passes and keeps 2.0.0; app3 (batch 2) fails its health check and is back on 1.0.0.

    Each host's health check is part of its own deploy; batches already done are not undone (docs/deploy.md: a
    batch is healthy before the next starts, ``max_fail_percentage`` bounds the damage).
    """
    rolling = {"deploy_strategy": "rolling", "deploy_serial": 1}
    first = deploy(env, "production", "1.0.0", **rolling)
    assert first.rc == 0, first.output
    # app3 alone expects its service to report 1.0.0: its health check of 2.0.0 fails, that of 1.0.0 passes
    (env["inventory"] / "host_vars").mkdir()
    (env["inventory"] / "host_vars" / "app3.yml").write_text(
        'deploy_health_version: "1.0.0"\ndeploy_health_retries: 2\n'
    )
    run = deploy(env, "production", "2.0.0", **rolling)
    assert run.rc != 0
    assert on(env, "app2") == "2.0.0"
    assert on(env, "app3") == "1.0.0"
    assert version_statuses(root(env, "app2")) == {"1.0.0": "previous", "2.0.0": "active"}
    assert version_statuses(root(env, "app3")) == {"1.0.0": "active", "2.0.0": "failed"}
    failed = failures(run)
    assert list(failed) == ["app3"], failed
    message = failed["app3"]
    assert "\n" not in message.strip()
    assert message.startswith("health check of release 2.0.0-"), message
    assert "rolled back to 1.0.0-" in message, message


# --- canary ----------------------------------------------------------------------------------------------------
def test_canary_failing_its_own_health_check_on_a_first_deploy_is_stopped_and_the_rest_untouched(env):
    run = canary(env, "9.9.9", **QUICK)
    assert run.rc != 0
    assert on(env, "app2") is None  # stopped: the broken release never keeps serving
    assert not (root(env, "app2") / "current").exists()
    assert version_statuses(root(env, "app2")) == {"9.9.9": "failed"}
    assert on(env, "app3") is None and not root(env, "app3").exists()
    assert "no previous release to go back to" in failures(run)["app2"]


def test_canary_failing_the_recheck_after_the_switch_goes_back_to_the_previous_release(env):
    assert canary(env, "1.0.0").rc == 0
    app3_before = snapshot(env, "app3")
    run = canary(env, "2.0.0", deploy_hooks=CRASH_AFTER_HEALTH)
    assert run.rc != 0
    message = failures(run)["app2"]
    assert message.startswith("canary app2 failed its checks"), message
    assert "it was rolled back to 1.0.0-" in message, message
    assert on(env, "app2") == "1.0.0"
    assert version_statuses(root(env, "app2")) == {"1.0.0": "active", "2.0.0": "rolled_back"}
    assert on(env, "app3") == "1.0.0"
    assert snapshot(env, "app3") == app3_before  # never touched


def test_canary_failing_the_recheck_on_a_first_deploy_is_stopped_not_left_serving(env):
    run = canary(env, "2.0.0", deploy_hooks=CRASH_AFTER_HEALTH)
    assert run.rc != 0
    message = failures(run)["app2"]
    assert message.startswith("canary app2 failed its checks"), message
    assert "it had no previous release: its service was stopped and current removed" in message, message
    assert on(env, "app2") is None
    assert not (root(env, "app2") / "current").exists()
    # forgotten: a release that never passed its checks must not count as a good one to roll back to later
    assert version_statuses(root(env, "app2")) == {}
    assert on(env, "app3") is None and not root(env, "app3").exists()


def metric_gate(prometheus):
    """The canary's metric gate, strict: a canary Prometheus knows nothing about fails it."""
    return {
        "deploy_canary_metrics_gate": True,
        "deploy_canary_metrics_url": prometheus.url,
        "deploy_canary_metrics_when_unavailable": "fail",
        "deploy_canary_metrics_empty_result": "fail",
        "deploy_canary_metrics_duration": "1s",
        "deploy_canary_metrics_interval": "1s",
    }


def test_canary_failing_the_metric_gate_goes_back_to_the_previous_release(env, empty_prometheus):
    assert canary(env, "1.0.0").rc == 0
    app3_before = snapshot(env, "app3")
    run = canary(env, "2.0.0", **metric_gate(empty_prometheus))
    assert run.rc != 0
    message = failures(run)["app2"]
    assert message.startswith("canary app2 failed its checks"), message
    assert "it was rolled back to 1.0.0-" in message, message
    assert on(env, "app2") == "1.0.0"
    assert version_statuses(root(env, "app2")) == {"1.0.0": "active", "2.0.0": "rolled_back"}
    assert on(env, "app3") == "1.0.0"
    assert snapshot(env, "app3") == app3_before


def test_canary_failing_the_metric_gate_on_a_first_deploy_is_stopped_not_left_serving(env, empty_prometheus):
    run = canary(env, "2.0.0", **metric_gate(empty_prometheus))
    assert run.rc != 0
    message = failures(run)["app2"]
    assert message.startswith("canary app2 failed its checks"), message
    assert "it had no previous release: its service was stopped and current removed" in message, message
    assert on(env, "app2") is None
    assert not (root(env, "app2") / "current").exists()
    assert version_statuses(root(env, "app2")) == {}
    assert on(env, "app3") is None and not root(env, "app3").exists()


# --- blue-green ------------------------------------------------------------------------------------------------
@pytest.fixture
def blue_green(env):
    require_binary("nginx", "blue_green puts nginx in front of the two slots")
    ports = {"blue": free_port(), "green": free_port()}
    return {
        "deploy_strategy": "blue_green",
        "deploy_proxy_port": free_port(),
        "deploy_blue_green_ports": ports,
    }


def live_slot(env):
    return json.loads((root(env, "app1") / "live_slot").read_text())["slot"]


def test_blue_green_new_slot_failing_its_health_check_never_gets_the_traffic(env, blue_green):
    assert deploy(env, "staging", "1.0.0", **blue_green).rc == 0
    proxy, ports = blue_green["deploy_proxy_port"], blue_green["deploy_blue_green_ports"]
    assert live_slot(env) == "blue" and serving(proxy) == "1.0.0"
    run = deploy(env, "staging", "9.9.9", **blue_green, **QUICK)
    assert run.rc != 0
    assert "health check of release 9.9.9-" in failures(run)["app1"]
    assert serving(proxy) == "1.0.0"  # nginx still sends the traffic to blue
    assert serving(ports["blue"]) == "1.0.0"
    assert serving(ports["green"]) is None  # the slot's first release failed: stopped
    assert live_slot(env) == "blue"
    assert version_statuses(root(env, "app1") / "blue") == {"1.0.0": "active"}
    assert version_statuses(root(env, "app1") / "green") == {"9.9.9": "failed"}


def test_blue_green_proxy_check_failing_after_the_switch_gives_the_traffic_back_to_the_old_slot(env, blue_green):
    assert deploy(env, "staging", "1.0.0", **blue_green).rc == 0
    proxy, ports = blue_green["deploy_proxy_port"], blue_green["deploy_blue_green_ports"]
    # the slot's own check only asks whether the process runs, so the broken release passes it; the check
    # through the proxy after the switch wants its version and gets HTTP 500
    slot_check = {"command": ["sh", "-c", "true"], "retries": 0}
    run = deploy(env, "staging", "9.9.9", **blue_green, **QUICK, deploy_health=slot_check)
    assert run.rc != 0
    message = failures(run)["app1"]
    assert "\n" not in message.strip()
    assert message.startswith(f"the proxy on port {proxy} did not answer 9.9.9 from the green slot"), message
    assert "the traffic is back on the blue slot, and the green slot was stopped (its first release)" in message
    assert serving(proxy) == "1.0.0"  # the traffic is back on blue
    assert serving(ports["blue"]) == "1.0.0"
    assert serving(ports["green"]) is None
    assert live_slot(env) == "blue"
    assert version_statuses(root(env, "app1") / "blue") == {"1.0.0": "active"}
    # green's only release never served: it is stopped and forgotten, so nothing counts it as a good release
    assert not (root(env, "app1") / "green" / "current").exists()
    assert version_statuses(root(env, "app1") / "green") == {}
    # the rollback playbook has nothing to switch to: green holds no release
    back = run_playbook(
        ROOT / "playbooks" / "rollback.yml",
        inventory=str(env["inventory"]),
        extra_vars={"deploy_environment": "staging", **blue_green},
    )
    assert back.rc != 0
    assert "nothing to roll back to on app1" in failures(back)["app1"]
    assert serving(proxy) == "1.0.0"

    # with a release in the new slot already: the slot goes back to it, and the traffic to the old slot
    assert deploy(env, "staging", "2.0.0", **blue_green).rc == 0
    assert serving(proxy) == "2.0.0" and live_slot(env) == "green"
    again = deploy(env, "staging", "9.9.9", **blue_green, **QUICK, deploy_health=slot_check)
    assert again.rc != 0
    message = failures(again)["app1"]
    assert "the traffic is back on the green slot, and the blue slot was rolled back to 1.0.0-" in message, message
    assert serving(proxy) == "2.0.0"
    assert serving(ports["green"]) == "2.0.0"
    assert serving(ports["blue"]) == "1.0.0"
    assert live_slot(env) == "green"
    assert version_statuses(root(env, "app1") / "blue") == {"1.0.0": "active", "9.9.9": "rolled_back"}
    assert version_statuses(root(env, "app1") / "green") == {"2.0.0": "active"}


# --- approval --------------------------------------------------------------------------------------------------
def test_refused_approval_changes_nothing_on_any_host(env):
    """Without a terminal nothing can be typed at the prompt: the gate refuses before any host is touched."""
    assert deploy(env, "production", "1.0.0", deploy_strategy="rolling").rc == 0
    before = {host: snapshot(env, host) for host in ("app2", "app3")}
    run = canary(env, "2.0.0", deploy_require_approval=True)
    assert run.rc != 0
    failed = failures(run)
    assert any("deploy to production was not approved" in message for message in failed.values()), failed
    for host in ("app2", "app3"):
        assert on(env, host) == "1.0.0"
        assert snapshot(env, host) == before[host]
        assert version_statuses(root(env, host)) == {"1.0.0": "active"}
    assert not any(path.name.startswith("2.0.0-") for path in (root(env, "app2") / "releases").iterdir())
