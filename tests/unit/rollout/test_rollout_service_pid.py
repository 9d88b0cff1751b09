"""The command service manager records the pid of what it starts, and quotes the service's error line."""

from __future__ import annotations

import os
import sys
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._service import make_service, pid_alive, read_pid


def sleeper(tmp_path, code: str, **extra):
    spec = {
        "manager": "command",
        "start": [sys.executable, "-c", code],
        "pid_file": str(tmp_path / "run" / "app.pid"),
        "log_file": str(tmp_path / "logs" / "service.log"),
        "stop_timeout": 5,
        "start_timeout": 5,
    }
    spec.update(extra)
    return make_service(spec, {})


def cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        return handle.read().replace(b"\0", b" ").decode()


def test_the_pid_of_a_service_that_writes_none_is_recorded(tmp_path):
    service = sleeper(tmp_path, "import time; print('up', flush=True); time.sleep(60)")
    service.restart(str(tmp_path))
    try:
        pid = read_pid(str(tmp_path / "run" / "app.pid"))
        assert pid is not None and pid_alive(pid)
        assert "time.sleep(60)" in cmdline(pid)  # the started process itself, no wrapper
        assert service.running() is True
        first = pid
        service.restart(str(tmp_path))  # stops the one it recorded, records the new one
        pid = read_pid(str(tmp_path / "run" / "app.pid"))
        assert pid != first and not pid_alive(first) and pid_alive(pid)
    finally:
        service.stop()
    assert not pid_alive(pid)
    assert not os.path.exists(tmp_path / "run" / "app.pid")
    assert service.running() is False


def test_a_pid_the_service_writes_itself_wins(tmp_path):
    # a launcher that starts a child, lets it write its pid and exits with 0 (like a daemonising server)
    child = (
        "import os, time, sys\n"
        f"pid_file = {str(tmp_path / 'run' / 'app.pid')!r}\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(0.3)\n"
        "    open(pid_file + '.tmp', 'w').write(str(os.getpid()))\n"
        "    os.rename(pid_file + '.tmp', pid_file)\n"
        "    time.sleep(60)\n"
        "    sys.exit(0)\n"
    )
    service = sleeper(tmp_path, child)
    service.restart(str(tmp_path))
    try:
        pid = read_pid(str(tmp_path / "run" / "app.pid"))
        assert pid_alive(pid) and "fork" in cmdline(pid)
        assert service.running() is True
    finally:
        service.stop()
    assert not pid_alive(pid)


def test_the_last_log_line_is_the_error_since_the_last_start_masked(tmp_path):
    log = tmp_path / "logs" / "service.log"
    log.parent.mkdir()
    log.write_text("Traceback (most recent call last):\nOldError: from an earlier start\n")
    code = (
        "import sys\n"
        "print('starting with s3cr3t-value-123', flush=True)\n"
        "print('ModuleNotFoundError: No module named dep (s3cr3t-value-123)', flush=True)\n"
        "print('shutting down', flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    service = make_service(
        {
            "manager": "command",
            "start": [sys.executable, "-c", code],
            "pid_file": str(tmp_path / "app.pid"),
            "log_file": str(log),
            "stop_timeout": 5,
        },
        {},
        secrets={"TOKEN": "s3cr3t-value-123"},
    )
    service.restart(str(tmp_path))
    try:
        for _attempt in range(200):
            if "shutting down" in log.read_text():
                break
            time.sleep(0.02)
        line = service.last_log_line()
    finally:
        service.stop()
    assert line.startswith("ModuleNotFoundError: No module named dep (")
    assert "s3cr3t-value-123" not in line


def test_no_log_no_line(tmp_path):
    service = make_service({"manager": "command", "start": ["true"], "pid_file": str(tmp_path / "p")}, {})
    assert service.last_log_line() is None
    assert make_service({}, {}).last_log_line() is None
