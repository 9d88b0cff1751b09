# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Long-running servers as plain background processes with pid files (no init system needed).

``started`` leaves a live process with the same command line alone and restarts one whose command
line differs; ``restarted`` always restarts; ``reloaded`` sends SIGHUP to a live process;
``stopped`` ends it (SIGTERM, then SIGKILL after the timeout). Several processes are started
together and then waited for, each until it listens on its ``wait_port`` (or survives a short
grace period without one). A process that exits or never listens fails with its last log lines.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_write_bytes
from ansible_collections.conveyor.cicd.plugins.module_utils._diff import add_diff, compare, view
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._process import find_binary, spawn
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import MASK, is_secret_key, mask_text
from ansible_collections.conveyor.cicd.plugins.module_utils._service import pid_alive, read_pid, stop_pid

STATES = ("started", "stopped", "restarted", "reloaded")
_GRACE = 1.0  # seconds a process without a port must survive to count as started


def live_pid(pid_file: str) -> int | None:
    pid = read_pid(pid_file)
    return pid if pid is not None and pid_alive(pid) else None


def command_line(pid: int) -> list[str] | None:
    """The running process's argv, or None when it cannot be read (another user's process)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return None


def _port_open(address: str) -> bool:
    host, _sep, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.5):
            return True
    except (OSError, ValueError):
        return False


def _log_tail(path: str, lines: int = 3) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - 2000))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    tail = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return f": {' | '.join(tail)}" if tail else ""


def _check(spec: dict) -> dict:
    name = spec["name"]
    if not spec.get("argv"):
        raise ConfigurationError(f"process {name}: argv is required (the server's command line as a list)")
    if spec.get("wait_port") and not str(spec["wait_port"]).rpartition(":")[2].isdigit():
        raise ConfigurationError(f"process {name}: wait_port must be HOST:PORT, got {spec['wait_port']!r}")
    spec = dict(spec)
    spec["log_file"] = spec.get("log_file") or f"{spec['pid_file']}.log"
    return spec


def shown_argv(argv) -> str:
    """A command line for a diff: shell-quoted, with passwords and URL credentials masked, and the value after
    an option named like a secret (``--password VALUE``, ``--token VALUE``)."""
    shown, hide_next = [], False
    for arg in (str(arg) for arg in argv):
        shown.append(MASK if hide_next else arg)
        hide_next = arg.startswith("-") and "=" not in arg and is_secret_key(arg.lstrip("-").replace("-", "_"))
    return mask_text(shlex.join(shown))


def _running_line(name: str, pid: int, argv: list[str] | None, note: str = "") -> str:
    shown = shown_argv(argv) if argv is not None else "(command line unreadable)"
    return f"{name}: running, pid {pid}{note}: {shown}"


def manage_processes(
    processes: list[dict], *, state: str, timeout: float, check_mode: bool, want_diff: bool = False
) -> dict:
    """Bring ``processes`` to ``state``. Each process is described before and after as one line (whether it
    runs, its pid and command line); ``changed`` and the diff both come from comparing those lines."""
    if state not in STATES:
        raise ConfigurationError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    specs = [_check(spec) for spec in processes]
    results, to_start, before, after = [], [], [], []
    for spec in specs:
        name = spec["name"]
        pid = live_pid(spec["pid_file"])
        entry = {"name": name, "pid": pid, "running": pid is not None, "changed": False}
        running_argv = command_line(pid) if pid is not None else None
        was = _running_line(name, pid, running_argv) if pid is not None else f"{name}: not running"
        will = was
        if state == "stopped":
            entry["msg"] = "stopped" if pid else "not running"
            will = f"{name}: not running"
        elif state == "reloaded":
            entry["msg"] = "sent SIGHUP" if pid else "not running, nothing to reload"
            if pid is not None:
                will = _running_line(name, pid, running_argv, ", reloaded")
        else:
            same = pid is not None and running_argv in (None, list(spec["argv"]), _resolved(spec))
            if state == "started" and same:
                entry["msg"] = f"already running with pid {pid}"
            else:
                action = "restarted" if pid else "started"
                entry["msg"] = f"{action} {os.path.basename(spec['argv'][0])}"
                will = f"{name}: running, {action}: {shown_argv(spec['argv'])}"
        entry["changed"] = was != will
        before.append(was)
        after.append(will)
        results.append(entry)
    comparison = compare(view(before), view(after), "processes")
    if not check_mode:
        for spec, entry in zip(specs, results, strict=True):
            if not entry["changed"]:
                continue
            pid = entry["pid"]
            if state == "stopped":
                stop_pid(pid, spec["pid_file"], timeout)
                entry.update(pid=None, running=False)
            elif state == "reloaded":
                os.kill(pid, signal.SIGHUP)
            else:
                if pid is not None:
                    stop_pid(pid, spec["pid_file"], timeout)
                to_start.append((spec, entry))
    started = [(spec, entry, _spawn(spec)) for spec, entry in to_start]
    for _spec, entry, proc in started:
        entry.update(pid=proc.pid, running=True)
    _wait_all(started, timeout)
    return add_diff({"changed": comparison.changed, "processes": results}, comparison, want_diff)


def _resolved(spec: dict) -> list[str]:
    """The argv as started: a bare program name becomes its path on PATH."""
    argv = list(spec["argv"])
    if os.sep not in argv[0]:
        argv[0] = find_binary(argv[0], f"install it or give the full path in process {spec['name']}'s argv")
    return argv


def _spawn(spec: dict):
    argv = _resolved(spec)
    for path in (spec["log_file"], spec["pid_file"]):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in (spec.get("environment") or {}).items()})
    with open(spec["log_file"], "ab") as log:
        try:
            proc = spawn(argv, spec.get("cwd") or None, env, log)
        except OSError as exc:
            raise CommandError(
                f"process {spec['name']} could not start {exc.filename or argv[0]}: {exc.strerror or exc}"
            ) from exc
    atomic_write_bytes(spec["pid_file"], f"{proc.pid}\n".encode("ascii"))
    return proc


def _wait_all(started: list, timeout: float) -> None:
    """Wait until every started process listens (or survives the grace period); fail on the first that does not."""
    begin = time.monotonic()
    pending = list(started)
    while pending:
        now = time.monotonic()
        for item in list(pending):
            spec, _entry, proc = item
            if proc.poll() is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(spec["pid_file"])
                raise CommandError(
                    f"process {spec['name']} exited with code {proc.returncode} right after start"
                    f"{_log_tail(spec['log_file'])}",
                    log_file=spec["log_file"],
                )
            port = spec.get("wait_port")
            if (port and _port_open(port)) or (not port and now >= begin + min(_GRACE, timeout)):
                pending.remove(item)
        if pending and now >= begin + timeout:
            spec, _entry, proc = pending[0]
            stop_pid(proc.pid, spec["pid_file"], 5)
            raise CommandError(
                f"process {spec['name']} did not listen on {spec['wait_port']} within {timeout:g} s"
                f"{_log_tail(spec['log_file'])}",
                log_file=spec["log_file"],
            )
        if pending:
            time.sleep(0.05)
