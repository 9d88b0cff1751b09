# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a pipelined Python module in a fork of the worker process instead of a new interpreter.

With pipelining, Ansible runs a Python module on a host by executing ``<shell> -c '<env> <python> &&
sleep 0'`` and writing the module's AnsiballZ payload to its standard input. On this machine, when
``<python>`` is the interpreter running Ansible itself, the same payload can run in a forked copy of
the worker process, which already has Python, ansible-core and the collection loader imported: the
module's cost drops from a new interpreter plus its imports (0.2-0.3 s on 2 cores) to a fork (a
few ms).

``plan`` decides whether a command qualifies and returns what the child needs; anything it does not
recognise exactly (another interpreter, ``become``, a non-pipelined or non-Python module, coverage or
debugger extensions, a module whose source differs from the one this process would import, such
as a playbook's ``library/`` module shadowing a built-in one) is left to a normal process.
``run`` forks, runs the payload as ``__main__`` in the child with the module's environment, and
returns ``(rc, stdout, stderr)`` like a process would.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import importlib.util
import io
import os
import re
import select
import shlex
import signal
import sys
import traceback
import zipfile
from dataclasses import dataclass

_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_MODULE_FQN = re.compile(rb"^module_fqn='([A-Za-z0-9_.]+)',$", re.MULTILINE)
_ZIP_DATA = re.compile(rb"^zip_data='([A-Za-z0-9+/=\n]*)',$", re.MULTILINE)
_NO_EXTENSIONS = re.compile(rb"^extensions=\{\},$", re.MULTILINE)


@dataclass(frozen=True)
class Plan:
    """What the forked child needs: the module's environment and the payload to run."""

    environment: dict
    payload: bytes
    module_fqn: str


def plan(cmd, in_data: bytes | None, python: str = sys.executable) -> tuple[Plan | None, str]:
    """A Plan when ``cmd``/``in_data`` is a pipelined Python module for ``python``, else (None, why not)."""
    if not in_data:
        return None, "not a pipelined module"
    if not isinstance(cmd, str):
        return None, "not a shell command"
    try:
        outer = shlex.split(cmd)
    except ValueError:
        return None, "unparsable command"
    if len(outer) != 3 or outer[1] != "-c":
        return None, "not a '<shell> -c' command"
    try:
        inner = shlex.split(outer[2])
    except ValueError:
        return None, "unparsable command"
    if inner[-3:] != ["&&", "sleep", "0"]:
        return None, "not a module command"
    inner = inner[:-3]
    environment = {}
    while inner and _ENV_ASSIGNMENT.match(inner[0]):
        key, value = inner.pop(0).split("=", 1)
        environment[key] = value
    if len(inner) != 1:
        return None, "not a module command"
    if os.path.abspath(inner[0]) != os.path.abspath(python):
        return None, "the module's Python is not the one running Ansible"
    if b"_ansiballz_main(" not in in_data:
        return None, "not an AnsiballZ payload"
    if not _NO_EXTENSIONS.search(in_data):
        return None, "the payload uses AnsiballZ extensions (coverage or debugger)"
    fqn = _MODULE_FQN.search(in_data)
    zipped = _ZIP_DATA.search(in_data)
    if not fqn or not zipped:
        return None, "not an AnsiballZ payload"
    module_fqn = fqn.group(1).decode("ascii")
    why_not = _same_module_here(module_fqn, zipped.group(1))
    if why_not:
        return None, why_not
    return Plan(environment=environment, payload=in_data, module_fqn=module_fqn), ""


def _same_module_here(module_fqn: str, zip_b64: bytes) -> str:
    """Empty when this process would import exactly the module the payload carries, else why not."""
    try:
        spec = importlib.util.find_spec(module_fqn)
    except (ImportError, ValueError, AttributeError):
        spec = None
    if spec is None or not spec.origin or not os.path.isfile(spec.origin):
        return f"{module_fqn} is not importable here"
    member = module_fqn.replace(".", "/") + ".py"
    try:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(zip_b64))) as archive:
            carried = archive.read(member)
        with open(spec.origin, "rb") as handle:
            local = handle.read()
    except (binascii.Error, zipfile.BadZipFile, KeyError, OSError):
        return f"{module_fqn} could not be compared with the payload"
    if carried != local:
        return f"the payload's {module_fqn} differs from the one importable here"
    return ""


def run(job: Plan, cwd: str | None = None) -> tuple[int, bytes, bytes]:
    """Run the payload in a forked child; return its exit code, standard output and standard error."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns
        os.close(out_read)
        os.close(err_read)
        _child(job, cwd, out_write, err_write)
    os.close(out_write)
    os.close(err_write)
    buffers = {out_read: bytearray(), err_read: bytearray()}
    try:
        pending = [out_read, err_read]
        while pending:
            ready = select.select(pending, [], [])[0]
            for fd in ready:
                chunk = os.read(fd, 65536)
                if chunk:
                    buffers[fd] += chunk
                else:
                    pending.remove(fd)
        status = os.waitpid(pid, 0)[1]
    except BaseException:
        # a task timeout or an interrupt in this process: the module does not outlive its task
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        raise
    finally:
        os.close(out_read)
        os.close(err_read)
    return os.waitstatus_to_exitcode(status), bytes(buffers[out_read]), bytes(buffers[err_read])


def _child(job: Plan, cwd: str | None, out_fd: int, err_fd: int) -> None:
    """In the forked child: become the module's process, run the payload, exit with its code."""
    code = 1
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.alarm(0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        for fd in (devnull, out_fd, err_fd):
            os.close(fd)
        sys.stdin = io.TextIOWrapper(os.fdopen(0, "rb", closefd=False), encoding="utf-8")
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8", write_through=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8", write_through=True)
        # only the module's own exit handlers run at its end, not the controller's
        atexit._clear()
        os.environ.update(job.environment)
        if cwd:
            os.chdir(cwd)
        # the module reports warnings in its result, as on a target, instead of through the controller
        from ansible.module_utils import _internal

        _internal.is_controller = False
        sys.argv = [sys.executable]
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        try:
            exec(compile(job.payload, f"<AnsiballZ {job.module_fqn}>", "exec"), namespace)  # noqa: S102
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # everything ends here: the child must never return into the worker
        with contextlib.suppress(OSError):
            os.write(2, traceback.format_exc().encode("utf-8", "replace"))
        code = code or 1
    finally:
        os._exit(code)
