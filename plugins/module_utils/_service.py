# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Service managers for a deployed release.

``systemd``: ``systemctl`` argv calls for one unit; an optional unit file shipped with (or next to) the
release is installed when its content changed, followed by ``daemon-reload``.
``command``: start, stop and status argv lists and a pid file, for hosts without systemd (containers,
tests, the embedded local hosts). The start command is detached into its own session with its output
in a log file, so neither the module nor Ansible waits for it. The manager writes the pid of the process it
started into the pid file (an application that writes its own there, after forking say, replaces it).

Arguments may contain placeholders, replaced before running: {release_path}, {release_id}, {version},
{root}, {shared}.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_write_text, write_if_changed
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    MissingDependencyError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._process import find_binary, run, spawn, validate_argv
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import mask_text

MANAGERS = ("systemd", "command", "none")
# a line of a service's output that says what went wrong (a traceback's last line, a logged error)
_ERROR_LINE = re.compile(r"^(?:ERROR|CRITICAL|FATAL|Error|error|fatal)\b|[\w.]*(?:Error|Exception)\b(?::|$)")
LOG_LINE_MAX = 300
DEFAULTS = {
    "manager": "none",
    "unit": None,
    "unit_file": None,
    "unit_dir": "/etc/systemd/system",
    "action": "restart",
    "start": None,
    "stop": None,
    "status": None,
    "pid_file": None,
    "log_file": None,
    "environment": {},
    "start_timeout": 30,
    "stop_timeout": 30,
}


def fill(text, values: dict):
    """``text`` with each {key} of ``values`` replaced (service commands, health checks); non-strings as they are."""
    if not isinstance(text, str):
        return text
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value if value is not None else ""))
    return text


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (our own unreaped child) is not running
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        if handle.read().rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    return True


def read_pid(path: str | None) -> int | None:
    if not path:
        return None
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def stop_pid(pid: int, pid_file: str | None, timeout: float, terminate: bool = True) -> None:
    """Stop process ``pid``: SIGTERM (unless ``terminate`` is false: something else asked it to stop),
    up to ``timeout`` seconds for it to exit, then SIGKILL; remove ``pid_file`` when it still names it."""
    if terminate:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while pid_alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.02)
    if pid_file:
        with contextlib.suppress(FileNotFoundError):
            if read_pid(pid_file) == pid:
                os.unlink(pid_file)


def error_line(lines, mask) -> str | None:
    """The line of a service's output that says what went wrong (the last error-looking line, else the last
    line), shortened and masked; None when there is no output."""
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        return None
    line = next((item for item in reversed(lines) if _ERROR_LINE.search(item)), lines[-1])
    line = line if len(line) <= LOG_LINE_MAX else line[: LOG_LINE_MAX - 3] + "..."
    return mask(line)  # the service's own output may quote a secret or a part of one


class Service:
    """No service: nothing to restart."""

    manager = "none"

    def __init__(self, spec: dict, values: dict):
        self.spec = spec
        self.values = values

    def argv(self, key: str) -> list[str] | None:
        if not self.spec.get(key):
            return None
        return [fill(str(arg), self.values) for arg in validate_argv(self.spec[key], f"service {key}")]

    def prepare(self, release_path: str, check_mode: bool = False) -> bool:
        """Install what the release ships for the service manager; True when something changed."""
        return False

    def running(self) -> bool:
        return True

    def restart(self, release_path: str) -> None:
        """(Re)start the service on ``release_path``."""

    def stop(self) -> None:
        """Stop the service."""

    def last_log_line(self) -> str | None:
        """The line of the service's output since the last restart that says what went wrong, masked; None
        when the manager keeps no log."""
        return None

    def exited(self) -> str | None:
        """Why the process the last restart started is gone for good (it exited), or None: still running, or the
        manager cannot tell (a systemd unit may be restarting)."""
        return None


class SystemdService(Service):
    manager = "systemd"

    def __init__(self, spec: dict, values: dict):
        super().__init__(spec, values)
        if not spec.get("unit"):
            raise ConfigurationError("service.manager systemd needs service.unit (for example app.service)")
        if spec["action"] not in ("restart", "reload"):
            raise ConfigurationError("service.action must be restart or reload")
        self.systemctl = find_binary("systemctl", "systemd is not installed: use service.manager command")
        self._restarted: float | None = None  # when restart() last ran: the journal is read from there

    def _systemctl(self, *args: str) -> None:
        result = run([self.systemctl, *args], timeout=max(int(self.spec["start_timeout"]), 30))
        if result.rc != 0:
            tail = result.tail[-1] if result.tail else ""
            raise CommandError(f"systemctl {' '.join(args)} failed with exit code {result.rc}: {tail}")

    def prepare(self, release_path: str, check_mode: bool = False) -> bool:
        if not self.spec.get("unit_file"):
            return False
        source = os.path.join(release_path, fill(self.spec["unit_file"], self.values))
        if not os.path.isfile(source):
            raise ConfigurationError(f"unit file {source} does not exist in the release")
        target = os.path.join(self.spec["unit_dir"], self.spec["unit"])
        with open(source, "rb") as handle:
            content = handle.read()
        if not write_if_changed(target, content, check_mode, 0o644):
            return False
        if not check_mode:
            self._systemctl("daemon-reload")
        return True

    def running(self) -> bool:
        return run([self.systemctl, "is-active", "--quiet", self.spec["unit"]], timeout=30).rc == 0

    def restart(self, release_path: str) -> None:
        action = self.spec["action"] if self.running() else "restart"
        self._restarted = time.time()
        self._systemctl(action, self.spec["unit"])

    def last_log_line(self) -> str | None:
        """From the unit's journal since the last restart (journalctl); None without a journal to read."""
        journalctl = shutil.which("journalctl")
        if not journalctl:
            return None
        argv = [journalctl, "--unit", self.spec["unit"], "--no-pager", "--output", "cat", "--lines", "200"]
        if self._restarted is not None:
            argv += ["--since", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self._restarted - 1))]
        result = run(argv, timeout=30, tail_lines=200)
        if result.rc != 0:
            return None
        # systemd services take no secrets from the rollout (their EnvironmentFile holds them): nothing to mask here
        return error_line([line for line in result.tail if not line.startswith("-- ")], str)

    def stop(self) -> None:
        self._systemctl("stop", self.spec["unit"])


class CommandService(Service):
    manager = "command"

    def __init__(self, spec: dict, values: dict, secrets: dict | None = None):
        super().__init__(spec, values)
        # kept apart from spec so that nothing that reports the spec can carry them
        self._secrets = {str(k): str(v) for k, v in (secrets or {}).items()}
        if not spec.get("start"):
            raise ConfigurationError("service.manager command needs service.start (an argv list)")
        if not spec.get("pid_file") and not spec.get("status"):
            raise ConfigurationError("service.manager command needs service.pid_file or service.status")
        self.pid_file = fill(spec.get("pid_file"), values)
        self.log_file = fill(spec.get("log_file"), values)
        self._log_start = 0  # where the output of the last start begins in the log file
        self._proc: subprocess.Popen | None = None  # what the last restart started

    def _env(self) -> dict:
        env = dict(os.environ)
        env.update({str(k): fill(str(v), self.values) for k, v in (self.spec.get("environment") or {}).items()})
        env.update({k: fill(v, self.values) for k, v in self._secrets.items()})
        return env

    def running(self) -> bool:
        status = self.argv("status")
        if status:
            return run(status, env=self._env(), timeout=30).rc == 0
        pid = read_pid(self.pid_file)
        return pid is not None and pid_alive(pid)

    def stop(self) -> None:
        stop = self.argv("stop")
        if stop:
            result = run(stop, env=self._env(), timeout=int(self.spec["stop_timeout"]))
            if result.rc != 0:
                raise CommandError(
                    f"service stop command exited with {result.rc}: {self._mask(' '.join(result.tail[-1:]))}"
                )
        pid = read_pid(self.pid_file)
        if pid is None or not pid_alive(pid):
            return
        # with a stop command, that asked it to stop: wait for it, then kill what is left
        stop_pid(pid, self.pid_file, float(self.spec["stop_timeout"]), terminate=not stop)

    def restart(self, release_path: str) -> None:
        self.stop()
        argv = self.argv("start")
        if os.sep not in argv[0]:
            argv[0] = find_binary(argv[0], "give the full path of the service's start program")
        log_path = self.log_file or os.devnull
        if self.log_file:
            os.makedirs(os.path.dirname(os.path.abspath(self.log_file)), exist_ok=True)
        if self.pid_file:
            os.makedirs(os.path.dirname(os.path.abspath(self.pid_file)), exist_ok=True)
        with open(log_path, "ab") as log:
            self._log_start = log.tell() if self.log_file else 0
            try:
                proc = spawn(argv, release_path, self._env(), log)  # detached: Ansible must not wait for the service
            except OSError as exc:
                raise MissingDependencyError(
                    f"service start command could not run {exc.filename or argv[0]} in {release_path}: "
                    f"{exc.strerror or exc}"
                ) from exc
        self._proc = proc
        self._record_pid(proc.pid)
        self._wait_started(proc)

    def exited(self) -> str | None:
        if self._proc is None or self.argv("status"):
            return None  # nothing started here, or a status command decides (it may know better than a pid)
        code = self._proc.poll()
        # 0 may be a hand-over to a process it forked, which writes its pid when it is ready: only a failure is
        # final
        return f"the service exited with {code}" if code not in (None, 0) else None

    def _record_pid(self, pid: int) -> None:
        """The pid of what was started, so that stop and status find it whether the service writes one or not;
        a live pid already there was written by the service itself (it forked), and stays."""
        if not self.pid_file:
            return
        found = read_pid(self.pid_file)
        if found is not None and found != pid and pid_alive(found):
            return
        atomic_write_text(self.pid_file, f"{pid}\n", 0o644)

    def _wait_started(self, proc: subprocess.Popen) -> None:
        deadline = time.monotonic() + float(self.spec["start_timeout"])
        while time.monotonic() < deadline:
            code = proc.poll()
            if code not in (None, 0):
                raise CommandError(f"service start command exited with {code}{self._log_hint()}")
            pid = read_pid(self.pid_file) if self.pid_file else None
            if self.pid_file and pid is not None and pid_alive(pid):
                return
            # a start command that exited with 0 has handed over to the process it forked: wait for its pid
            if not self.pid_file and self.running():
                return
            time.sleep(0.02)
        raise CommandError(
            f"service did not start within {self.spec['start_timeout']} s "
            f"({'no live pid in ' + self.pid_file if self.pid_file else 'status command fails'}){self._log_hint()}"
        )

    def _log_hint(self) -> str:
        if not self.log_file or not os.path.isfile(self.log_file):
            return ""
        with open(self.log_file, "rb") as handle:
            handle.seek(max(0, os.path.getsize(self.log_file) - 400))
            lines = handle.read().decode("utf-8", errors="replace").strip().splitlines()
        # the service's own output may quote a secret or a part of one
        return f"; last log line: {self._mask(lines[-1])}" if lines else f"; see {self.log_file}"

    def last_log_line(self) -> str | None:
        if not self.log_file or not os.path.isfile(self.log_file):
            return None
        with open(self.log_file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = self._log_start if self._log_start <= size else 0  # rotated or truncated since the start
            handle.seek(max(start, size - 16384))
            lines = [line.strip() for line in handle.read().decode("utf-8", errors="replace").splitlines()]
        return error_line(lines, self._mask)

    def _mask(self, text: str) -> str:
        return mask_text(text, [fill(v, self.values) for v in self._secrets.values()])


def make_service(spec: dict | None, values: dict, secrets: dict | None = None) -> Service:
    """The service for ``spec``; ``secrets`` are more environment variables for the command manager only."""
    merged = dict(DEFAULTS)
    merged.update({k: v for k, v in (spec or {}).items() if v is not None})
    manager = merged["manager"]
    if manager not in MANAGERS:
        raise ConfigurationError(f"unknown service.manager {manager!r}: use one of {', '.join(MANAGERS)}")
    if secrets and manager != "command":
        raise ConfigurationError(
            f"service_secrets only reach a service started by the command manager, not manager {manager}: "
            "give a systemd unit an EnvironmentFile (mode 0600) instead"
        )
    if manager == "systemd":
        return SystemdService(merged, values)
    if manager == "command":
        return CommandService(merged, values, secrets or {})
    return Service(merged, values)
