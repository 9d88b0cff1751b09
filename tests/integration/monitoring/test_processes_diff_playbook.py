"""conveyor.cicd.processes with --check --diff through real ansible-playbook runs: the preview names the servers
that would start, restart or stop with their command lines, and the real run does exactly that."""

from __future__ import annotations

import shlex
import sys

import pytest

from tests.support.playbook import run_tasks
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


def task(tmp_path, port: int, state: str = "started", extra: tuple[str, ...] = ()) -> dict:
    return {
        "name": "servers",
        "conveyor.cicd.processes": {
            "state": state,
            "processes": [
                {
                    "name": "web",
                    "argv": [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port), *extra],
                    "pid_file": str(tmp_path / "web.pid"),
                    "cwd": str(tmp_path),
                    "wait_port": f"127.0.0.1:{port}",
                }
            ],
        },
    }


def test_check_diff_predicts_start_restart_and_stop(tmp_path):
    port = free_port()
    argv = shlex.join([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)])
    try:
        preview = run_tasks(tmp_path, [task(tmp_path, port)], name="preview", check=True, diff=True)
        assert preview.rc == 0, preview.output[-3000:]
        diff = preview.result("servers")["diff"]
        assert diff["before"] == "web: not running\n" and diff["after"] == f"web: running, started: {argv}\n"
        assert not (tmp_path / "web.pid").exists()
        started = run_tasks(tmp_path, [task(tmp_path, port)], name="start", diff=True)
        assert started.rc == 0, started.output[-3000:]
        assert started.result("servers")["diff"] == diff
        pid = int((tmp_path / "web.pid").read_text())

        moved = task(tmp_path, port, extra=("--directory", str(tmp_path)))
        restart = run_tasks(tmp_path, [moved], name="restart", check=True, diff=True).result("servers")
        assert restart["diff"]["before"] == f"web: running, pid {pid}: {argv}\n"
        assert restart["diff"]["after"] == f"web: running, restarted: {argv} --directory {shlex.quote(str(tmp_path))}\n"
        assert int((tmp_path / "web.pid").read_text()) == pid  # check mode restarted nothing

        stop = run_tasks(tmp_path, [task(tmp_path, port, "stopped")], name="stop", check=True, diff=True)
        assert stop.result("servers")["diff"]["after"] == "web: not running\n"
        again = run_tasks(tmp_path, [task(tmp_path, port)], name="again", diff=True).result("servers")
        assert again["changed"] is False and "diff" not in again
    finally:
        run_tasks(tmp_path, [task(tmp_path, port, "stopped")], name="cleanup")
