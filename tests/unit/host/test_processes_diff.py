"""conveyor.cicd.processes in diff mode: one line per process before and after, the same in check mode."""

from __future__ import annotations

import shlex
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._diff import compare, view
from ansible_collections.conveyor.cicd.plugins.module_utils._processes import live_pid, manage_processes, shown_argv
from tests.support.servers import free_port

PY = sys.executable


def server(tmp_path, name: str, port: int) -> dict:
    return {
        "name": name,
        "argv": [PY, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        "pid_file": str(tmp_path / f"{name}.pid"),
        "cwd": str(tmp_path),
        "wait_port": f"127.0.0.1:{port}",
    }


@pytest.fixture
def servers(tmp_path):
    specs = [server(tmp_path, "one", free_port()), server(tmp_path, "two", free_port())]
    yield specs
    manage_processes(specs, state="stopped", timeout=5, check_mode=False)


def run(specs, state="started", check_mode=False):
    return manage_processes(specs, state=state, timeout=15, check_mode=check_mode, want_diff=True)


def test_compare_gives_changed_and_the_diff_from_one_comparison():
    assert compare(view(["a"]), view(["a"]), "x") == (False, None)
    changed, diff = compare(view(["a"]), view(["b"]), "things")
    assert changed is True
    assert diff == {
        "before_header": "things (before)",
        "after_header": "things (after)",
        "before": "a\n",
        "after": "b\n",
    }
    assert compare("", "b\n", "/dev/null", "f").diff["before_header"] == "/dev/null"


def test_check_mode_shows_the_servers_a_start_would_start_with_their_command_lines(servers):
    preview = run(servers, check_mode=True)
    command = shlex.join(servers[0]["argv"])
    assert preview["changed"] is True
    assert preview["diff"]["before"] == "one: not running\ntwo: not running\n"
    assert preview["diff"]["after"].splitlines()[0] == f"one: running, started: {command}"
    assert all(live_pid(s["pid_file"]) is None for s in servers)
    real = run(servers)
    assert real["diff"] == preview["diff"] and [p["changed"] for p in real["processes"]] == [True, True]
    again = run(servers)
    assert again["changed"] is False and "diff" not in again


def test_a_changed_command_line_shows_old_and_new(servers):
    run(servers)
    pid = live_pid(servers[1]["pid_file"])
    changed = [servers[0], dict(servers[1], argv=[*servers[1]["argv"], "--directory", servers[1]["cwd"]])]
    preview = run(changed, check_mode=True)
    before, after = preview["diff"]["before"].splitlines(), preview["diff"]["after"].splitlines()
    assert before[0] == after[0]  # one stays as it is
    assert before[1] == f"two: running, pid {pid}: {shlex.join(servers[1]['argv'])}"
    assert after[1] == f"two: running, restarted: {shlex.join(changed[1]['argv'])}"
    assert [p["changed"] for p in preview["processes"]] == [False, True]
    real = run(changed)
    assert real["diff"] == preview["diff"]


def test_stop_reload_and_restart_each_show_what_they_do(servers):
    run(servers)
    pids = [live_pid(s["pid_file"]) for s in servers]
    reload = run(servers, state="reloaded", check_mode=True)
    assert reload["diff"]["after"].splitlines()[0].startswith(f"one: running, pid {pids[0]}, reloaded: ")
    restart = run(servers, state="restarted", check_mode=True)
    assert restart["diff"]["after"].splitlines()[1].startswith("two: running, restarted: ")
    stop = run(servers[:1], state="stopped")
    assert stop["diff"]["after"] == "one: not running\n" and stop["changed"] is True
    assert run(servers[:1], state="stopped")["changed"] is False


def test_secrets_in_command_lines_are_masked():
    shown = shown_argv(["server", "--password", "hunter22", "--token=abcdef", "--db=postgres://u:pw123@db/x", "-v"])
    assert "hunter22" not in shown and "abcdef" not in shown and "pw123" not in shown
    assert shown.startswith("server --password '********' --token=") and shown.endswith(" -v")
