"""What the roles left on a systemd host: the app's unit installed from the release and serving; the poller's timer."""

from __future__ import annotations

import json

ROOT = "/srv/conveyor-sample-app"
UNIT = "conveyor-sample-app.service"
PROBE = (
    "import json, urllib.request; "
    "print(json.dumps(json.load(urllib.request.urlopen('http://127.0.0.1:8080/version', timeout=5))))"
)


def _active_release(host):
    state = json.loads(host.file(f"{ROOT}/releases.json").content_string)
    active = [item for item in state["releases"] if item["status"] == "active"]
    assert len(active) == 1 and active[0]["version"] == "0.1.0", state
    return f"{ROOT}/releases/{active[0]['id']}"


def test_the_unit_file_of_the_release_is_installed(host):
    installed = host.file(f"/etc/systemd/system/{UNIT}")
    assert installed.is_file and installed.mode == 0o644
    shipped = host.file(f"{_active_release(host)}/deploy/{UNIT}")
    assert installed.content == shipped.content


def test_the_unit_runs_the_current_release(host):
    assert host.run(f"systemctl is-active {UNIT}").stdout.strip() == "active"
    assert host.file(f"{ROOT}/current").linked_to == _active_release(host)
    pid = host.run(f"systemctl show --property MainPID --value {UNIT}").stdout.strip()
    assert pid.isdigit() and pid != "0"
    cmdline = host.file(f"/proc/{pid}/cmdline").content.split(b"\0")
    assert b"sample_app" in cmdline and b"8080" in cmdline, cmdline
    # systemd started it in the working directory /srv/conveyor-sample-app/current (resolved by the kernel)
    assert host.run(f"readlink /proc/{pid}/cwd").stdout.strip() == _active_release(host)


def test_the_service_answers_with_the_deployed_version(host):
    answer = host.run("python3 -c %s", PROBE)
    assert answer.rc == 0, answer.stderr
    assert json.loads(answer.stdout)["version"] == "0.1.0"


def test_the_poller_timer_is_enabled_and_waiting(host):
    assert host.run("systemctl is-enabled conveyor-poller.timer").stdout.strip() == "enabled"
    assert host.run("systemctl is-active conveyor-poller.timer").stdout.strip() == "active"
    next_run = host.run("systemctl show --property NextElapseUSecRealtime --value conveyor-poller.timer")
    assert next_run.rc == 0 and next_run.stdout.strip() not in ("", "0", "n/a"), next_run.stdout
    verify = host.run("systemd-analyze verify /etc/systemd/system/conveyor-poller.timer")
    assert verify.rc == 0, verify.stderr


def _get(host, url):
    probe = f"import urllib.request; print(urllib.request.urlopen('{url}', timeout=5).read().decode())"
    for _attempt in range(40):
        answer = host.run("python3 -c %s", probe)
        if answer.rc == 0:
            return answer.stdout
        host.run("sleep 0.25")
    raise AssertionError(f"{url}: {answer.stderr}")


def test_the_monitoring_packages_run_as_services_with_the_roles_arguments(host):
    for unit in ("prometheus", "prometheus-pushgateway", "prometheus-node-exporter"):
        assert host.run(f"systemctl is-active {unit}").stdout.strip() == "active", unit
        assert host.run(f"systemctl is-enabled {unit}").stdout.strip() == "enabled", unit
    args = host.file("/etc/default/prometheus").content_string
    assert "--config.file=/etc/prometheus/prometheus.yml" in args and "--web.enable-lifecycle" in args
    pid = host.run("systemctl show --property MainPID --value prometheus").stdout.strip()
    cmdline = host.file(f"/proc/{pid}/cmdline").content.split(b"\0")
    assert b"--config.file=/etc/prometheus/prometheus.yml" in cmdline, cmdline
    assert host.run(f"stat -c %U /proc/{pid}").stdout.strip() == "prometheus"


def test_prometheus_loaded_the_roles_rules_and_the_push_arrived(host):
    assert "Ready" in _get(host, "http://127.0.0.1:9090/-/ready")
    rules = json.loads(_get(host, "http://127.0.0.1:9090/api/v1/rules"))
    files = {group["file"] for group in rules["data"]["groups"]}
    assert "/etc/prometheus/rules/conveyor_app.rules.yml" in files, files
    assert "conveyor_molecule_pushed" in _get(host, "http://127.0.0.1:9091/metrics")
