"""conveyor.cicd.processes engine: background servers with pid files (module_utils/_processes.py)."""

from __future__ import annotations

import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError
from ansible_collections.conveyor.cicd.plugins.module_utils._processes import live_pid, manage_processes
from tests.support.servers import free_port

PY = sys.executable


def server(tmp_path, name: str, port: int, extra: str = "") -> dict:
    return {
        "name": name,
        "argv": [PY, "-m", "http.server", "--bind", "127.0.0.1", str(port), *([extra] if extra else [])],
        "pid_file": str(tmp_path / f"{name}.pid"),
        "cwd": str(tmp_path),
        "wait_port": f"127.0.0.1:{port}",
    }


@pytest.fixture
def servers(tmp_path):
    specs = [server(tmp_path, "one", free_port()), server(tmp_path, "two", free_port())]
    yield specs
    manage_processes(specs, state="stopped", timeout=5, check_mode=False)


def test_started_twice_starts_once_and_check_mode_predicts(servers):
    preview = manage_processes(servers, state="started", timeout=15, check_mode=True)
    assert preview["changed"] is True and all(p["pid"] is None for p in preview["processes"])
    assert all(live_pid(s["pid_file"]) is None for s in servers)
    first = manage_processes(servers, state="started", timeout=15, check_mode=False)
    assert [p["msg"] for p in first["processes"]] == [f"started {PY.rsplit('/', 1)[-1]}"] * 2
    pids = [live_pid(s["pid_file"]) for s in servers]
    assert all(pids)
    again = manage_processes(servers, state="started", timeout=15, check_mode=False)
    assert again["changed"] is False
    assert [p["pid"] for p in again["processes"]] == pids


def test_a_changed_command_line_restarts_only_that_process(servers):
    manage_processes(servers, state="started", timeout=15, check_mode=False)
    before = [live_pid(s["pid_file"]) for s in servers]
    changed = [servers[0], dict(servers[1], argv=[*servers[1]["argv"], "--directory", servers[1]["cwd"]])]
    result = manage_processes(changed, state="started", timeout=15, check_mode=False)
    assert [p["changed"] for p in result["processes"]] == [False, True]
    after = [live_pid(s["pid_file"]) for s in servers]
    assert after[0] == before[0] and after[1] not in (None, before[1])


def test_stopped_ends_the_processes_and_then_changes_nothing(servers):
    manage_processes(servers, state="started", timeout=15, check_mode=False)
    stopped = manage_processes(servers, state="stopped", timeout=5, check_mode=False)
    assert stopped["changed"] is True
    assert all(live_pid(s["pid_file"]) is None for s in servers)
    assert manage_processes(servers, state="stopped", timeout=5, check_mode=False)["changed"] is False


def test_a_server_that_exits_at_once_fails_with_its_log_and_leaves_no_pid_file(tmp_path):
    spec = {
        "name": "broken",
        "argv": [PY, "-c", "import sys; print('config file missing'); sys.exit(3)"],
        "pid_file": str(tmp_path / "broken.pid"),
    }
    with pytest.raises(CommandError) as failure:
        manage_processes([spec], state="started", timeout=5, check_mode=False)
    assert failure.value.msg == "process broken exited with code 3 right after start: config file missing"
    assert not (tmp_path / "broken.pid").exists()


def test_a_server_that_never_listens_is_stopped_and_reported(tmp_path):
    port = free_port()
    spec = {
        "name": "silent",
        "argv": [PY, "-c", "import time; time.sleep(60)"],
        "pid_file": str(tmp_path / "silent.pid"),
        "wait_port": f"127.0.0.1:{port}",
    }
    with pytest.raises(CommandError, match=f"did not listen on 127.0.0.1:{port} within 1 s"):
        manage_processes([spec], state="started", timeout=1, check_mode=False)
    assert live_pid(spec["pid_file"]) is None
