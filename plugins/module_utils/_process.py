# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one command as an argv list: timeout, environment, full log file, output tail.

Commands never go through a shell. Output (stdout and stderr, interleaved) streams to
``log_file`` when one is given, otherwise to a temporary file; only a bounded tail is
kept in memory, so a chatty build cannot exhaust memory.

This is the one place where the collection starts processes (``run``, ``run_capture``, and
``spawn`` for services that outlive the task). It calls ``subprocess`` itself, not
``AnsibleModule.run_command``: it streams output to a log file, enforces timeouts by killing the
process group and starts detached services, none of which ``run_command`` does, and the engine
also runs without an ``AnsibleModule`` (the callback, the inventory plugin, the action plugins).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    MissingDependencyError,
)

TAIL_LINES = 40


@dataclass
class ProcessResult:
    argv: list[str]
    rc: int
    duration: float
    tail: list[str] = field(default_factory=list)
    timed_out: bool = False
    output: str | None = None  # the whole output, only when capture=True

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out


def validate_argv(argv, what: str = "command") -> list[str]:
    """Return argv as a list of strings, or raise one clear line saying what is wrong."""
    if isinstance(argv, str):
        raise ConfigurationError(
            f"{what} must be a list of arguments, not a shell string: write {argv.split()!r} instead of {argv!r}"
        )
    if not isinstance(argv, (list, tuple)) or not argv:
        raise ConfigurationError(f"{what} must be a non-empty list of arguments, got {argv!r}")
    out = []
    for item in argv:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ConfigurationError(f"{what} has an argument that is not a string: {item!r}")
        out.append(str(item))
    return out


def find_binary(name: str, hint: str | None = None, path: str | None = None) -> str:
    """Locate an executable or raise MissingDependencyError naming it and what to install."""
    if os.sep in name:
        if os.access(name, os.X_OK) and os.path.isfile(name):
            return name
    else:
        found = shutil.which(name, path=path)
        if found:
            return found
    extra = f"; {hint}" if hint else ""
    raise MissingDependencyError(f"'{name}' was not found on PATH{extra}", binary=name)


def _tail_of(path: str, lines: int) -> list[str]:
    keep: deque[str] = deque(maxlen=lines)
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            keep.append(line.rstrip("\n"))
    return list(keep)


def run(
    argv,
    cwd: str | None = None,
    env: dict | None = None,
    inherit_env: bool = True,
    timeout: float | None = None,
    log_file: str | None = None,
    append_log: bool = False,
    capture: bool = False,
    tail_lines: int = TAIL_LINES,
    stdin_data: str | None = None,
) -> ProcessResult:
    """Run argv and return a ProcessResult. Never raises for a non-zero exit; raises
    MissingDependencyError when the program does not exist, ConfigurationError for bad input."""
    argv = validate_argv(argv)
    if cwd is not None and not os.path.isdir(cwd):
        raise ConfigurationError(f"working directory '{cwd}' does not exist")
    full_env = dict(os.environ) if inherit_env else {"PATH": os.environ.get("PATH", os.defpath)}
    if env:
        full_env.update({str(k): str(v) for k, v in env.items()})
    program = argv[0]
    if os.sep not in program and shutil.which(program, path=full_env.get("PATH")) is None:
        raise MissingDependencyError(
            f"'{program}' was not found on PATH: install it or give its full path", binary=program
        )

    own_log = log_file is None
    if own_log:
        fd, log_path = tempfile.mkstemp(prefix="conveyor-", suffix=".log")
        os.close(fd)
    else:
        log_path = os.path.abspath(log_file)
        parent = os.path.dirname(log_path)
        os.makedirs(parent, exist_ok=True)
    start = time.monotonic()
    timed_out = False
    try:
        with open(log_path, "ab" if append_log else "wb") as log:
            try:
                proc = subprocess.Popen(  # pylint: disable=ansible-bad-function  # see the module docstring
                    argv,
                    cwd=cwd,
                    env=full_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                    start_new_session=True,  # a timeout kills the whole process group
                )
            except FileNotFoundError as exc:
                raise MissingDependencyError(
                    f"'{program}' could not be started: {exc.strerror}", binary=program
                ) from exc
            except PermissionError as exc:
                raise CommandError(f"'{program}' is not executable: {exc.strerror}") from exc
            try:
                proc.communicate(input=stdin_data.encode() if stdin_data is not None else None, timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
            except BaseException:
                _kill_group(proc)
                raise
        duration = time.monotonic() - start
        output = None
        if capture:
            with open(log_path, encoding="utf-8", errors="replace") as handle:
                output = handle.read()
        return ProcessResult(
            argv=argv,
            rc=proc.returncode if not timed_out else -int(signal.SIGKILL),
            duration=round(duration, 3),
            tail=_tail_of(log_path, tail_lines),
            timed_out=timed_out,
            output=output,
        )
    finally:
        if own_log:
            os.unlink(log_path)


def run_capture(argv, cwd=None, env=None, timeout=None, inherit_env: bool = True) -> tuple[int, str, str]:
    """Run argv and return (rc, stdout, stderr) separately, for tools with machine-readable stdout.
    With ``inherit_env=False``, ``env`` is the whole environment (PATH comes from this process if missing)."""
    argv = validate_argv(argv)
    full_env = dict(os.environ) if inherit_env else {"PATH": os.environ.get("PATH", os.defpath)}
    if env:
        full_env.update({str(k): str(v) for k, v in env.items()})
    if os.sep not in argv[0] and shutil.which(argv[0], path=full_env.get("PATH")) is None:
        raise MissingDependencyError(
            f"'{argv[0]}' was not found on PATH: install it or give its full path", binary=argv[0]
        )
    try:
        proc = subprocess.run(  # pylint: disable=ansible-bad-function  # see the module docstring
            argv,
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(f"'{' '.join(argv)}' did not finish within {timeout} seconds") from exc
    return proc.returncode, proc.stdout, proc.stderr


def spawn(argv, cwd: str | None, env: dict, log) -> subprocess.Popen:
    """Start argv detached (its own session, stdin from /dev/null, stdout and stderr to the open binary
    file ``log``) and return at once: for services that keep running after the task. ``env`` is the
    whole environment. Raises OSError when the program cannot be started."""
    return subprocess.Popen(  # pylint: disable=ansible-bad-function  # see the module docstring
        validate_argv(argv),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        close_fds=True,
    )


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
