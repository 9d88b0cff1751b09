"""roles/logging in user mode: real logrotate runs with a private state file, real rsyslogd forwarding."""

from __future__ import annotations

import json
import socket
import subprocess
import threading

import pytest
import yaml

from tests.support.paths import require_binary
from tests.support.playbook import run_playbook
from tests.support.prometheus import generate_traffic, start_sample_app, wait_until
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


def run_role(tmp_path, role_vars, name="logging", check=False):
    play = [
        {
            "name": "Logging",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "roles": [{"role": "conveyor.cicd.logging", "vars": role_vars}],
        }
    ]
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(play, sort_keys=False))
    return run_playbook(path, inventory="localhost,", check=check)


def user_vars(tmp_path, **extra):
    return {
        "logging_mode": "user",
        "logging_base_dir": str(tmp_path / "state"),
        "logging_app_log_dir": str(tmp_path / "logs"),
        **extra,
    }


def test_app_json_logs_are_rotated_with_a_private_state_file(tmp_path):
    require_binary("logrotate", "Debian package logrotate")
    app = start_sample_app(tmp_path, name="app")
    try:
        generate_traffic(app.port, 5)
    finally:
        app.stop()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log").write_bytes((tmp_path / "app" / "logs" / "access.log").read_bytes())
    first_line = json.loads((logs / "access.log").read_text().splitlines()[0])
    assert first_line["event"] == "started"

    role_vars = user_vars(tmp_path, logging_run_logrotate=True, logging_force_rotation=True, logging_rotate_keep=3)
    run = run_role(tmp_path, role_vars)
    assert run.rc == 0, run.output[-3000:]
    rotation = run.result("Rotate the logs now with a private state file")
    assert rotation["changed"] is True and rotation["rotated"] == [str(logs / "access.log")]
    rotated = sorted(p.name for p in logs.iterdir())
    assert len(rotated) == 1 and rotated[0].startswith("access.log-"), (
        rotated
    )  # delaycompress: first rotation stays plain
    assert (tmp_path / "state" / "logrotate.state").read_text().count("access.log") == 1
    config = (tmp_path / "state" / "logrotate.conf").read_text()
    assert "rotate 3" in config and "maxage 30" in config

    again = run_role(tmp_path, role_vars)
    assert again.rc == 0 and again.stats["localhost"]["changed"] == 0, again.output[-3000:]


def test_check_mode_names_the_logs_a_real_run_rotates_and_touches_nothing(tmp_path):
    require_binary("logrotate", "Debian package logrotate")
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "access.log").write_text('{"event": "started"}\n')
    (logs / "empty.log").write_text("")  # notifempty: never rotated
    role_vars = user_vars(tmp_path, logging_run_logrotate=True, logging_rotate_size="1")

    first_check = run_role(tmp_path, role_vars, check=True)  # nothing written yet: nothing to predict from
    assert first_check.rc == 0, first_check.output[-3000:]
    assert first_check.result("Rotate the logs now with a private state file").get("skipped") is True
    assert not (tmp_path / "state").exists()

    # once the configuration is on the host, check mode predicts from it: access.log is over the size of 1 byte
    run_role(tmp_path, dict(role_vars, logging_run_logrotate=False))
    before = sorted(p.name for p in logs.iterdir())
    check = run_role(tmp_path, role_vars, check=True)
    assert check.rc == 0, check.output[-3000:]
    predicted = check.result("Rotate the logs now with a private state file")
    assert predicted["changed"] is True and predicted["rotated"] == [str(logs / "access.log")]
    assert sorted(p.name for p in logs.iterdir()) == before
    assert not (tmp_path / "state" / "logrotate.state").exists()

    real = run_role(tmp_path, role_vars)
    assert real.rc == 0, real.output[-3000:]
    assert real.result("Rotate the logs now with a private state file")["rotated"] == predicted["rotated"]
    assert "access.log" not in [p.name for p in logs.iterdir()]

    again = run_role(tmp_path, role_vars, check=True)
    assert again.rc == 0 and again.stats["localhost"]["changed"] == 0, again.output[-3000:]


def test_logrotate_refuses_a_bad_size_before_the_file_is_written(tmp_path):
    require_binary("logrotate", "Debian package logrotate")
    run = run_role(tmp_path, user_vars(tmp_path, logging_rotate_size="lots"))
    assert run.rc != 0
    failed = run.result("Write the logrotate configuration")
    assert "failed validation by " in failed["msg"]
    assert "unknown unit" in failed["msg"]  # the validator's own error line says what is wrong
    assert not (tmp_path / "state" / "logrotate.conf").exists()
    assert not list((tmp_path / "state").glob(".conveyor-*"))  # the candidate file is gone too


class SyslogCollector:
    """A TCP syslog receiver on 127.0.0.1 that keeps every line it gets."""

    def __init__(self):
        self.port = free_port()
        self.lines: list[str] = []
        self.server = socket.create_server(("127.0.0.1", self.port))
        self.server.settimeout(0.5)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.done.is_set():
            try:
                conn, _addr = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(0.5)
                buffer = b""
                while not self.done.is_set():
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        continue
                    if not chunk:
                        break
                    buffer += chunk
                    *complete, buffer = buffer.split(b"\n")
                    self.lines += [line.decode() for line in complete]

    def close(self):
        self.done.set()
        self.server.close()
        self.thread.join(timeout=5)


def test_rsyslog_forwards_the_json_log_lines(tmp_path):
    rsyslogd = require_binary("rsyslogd", "Debian package rsyslog")
    collector = SyslogCollector()
    role_vars = user_vars(
        tmp_path, logging_rsyslog_enabled=True, logging_rsyslog_target="127.0.0.1", logging_rsyslog_port=collector.port
    )
    run = run_role(tmp_path, role_vars)
    assert run.rc == 0, run.output[-3000:]
    config = tmp_path / "state" / "rsyslog.conf"
    pid_file = tmp_path / "state" / "rsyslogd.pid"
    daemon = subprocess.Popen(
        [rsyslogd, "-n", "-f", str(config), "-i", str(pid_file)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        app = start_sample_app(tmp_path, name="app", log_dir=tmp_path / "logs")
        try:
            generate_traffic(app.port, 3, path="/healthz")
        finally:
            app.stop()
        lines = wait_until(
            lambda: [line for line in collector.lines if '"event":"request"' in line or "/healthz" in line],
            20,
            "forwarded lines",
        )
        assert " sample_app " in lines[0]
        payload = json.loads(lines[0][lines[0].index("{") :])
        assert payload["logger"] == "sample_app"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        collector.close()
    again = run_role(tmp_path, role_vars)
    assert again.stats["localhost"]["changed"] == 0


def test_rsyslog_refuses_a_broken_target_and_requires_one(tmp_path):
    require_binary("rsyslogd", "Debian package rsyslog")
    broken = run_role(tmp_path, user_vars(tmp_path, logging_rsyslog_enabled=True, logging_rsyslog_target='bad"host'))
    refused = broken.result("Write the rsyslog forwarding configuration")["msg"]
    assert "failed validation by " in refused and "rsyslogd" in refused and "\n" not in refused
    missing = run_role(tmp_path, user_vars(tmp_path, logging_rsyslog_enabled=True), name="missing")
    assert "logging_rsyslog_target is required" in missing.result("Check the logging settings")["msg"]
