# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible's housekeeping shell commands on this machine, done in Python instead of a new shell.

Around a module that needs a temporary directory (``template``, ``copy``, ``fetch``...), Ansible's
``sh`` shell plugin sends three commands: find the home directory (``echo ~``), create the temporary
directory (``( umask 77 && mkdir -p ... && mkdir ... && echo ... ) && sleep 0``) and remove it again
(``rm -f -r ... > /dev/null 2>&1 && sleep 0``). On a local connection each one starts ``/bin/sh``;
these are done here directly, with the same output, exit code and effect.

Only the exact shapes ansible-core 2.19 sends are recognised, and only with plain paths (no quotes,
variables, globbing or other shell syntax, so the shell would not have changed them); anything else
returns None and runs in a shell as before.
"""

from __future__ import annotations

import os
import re
import shutil

_PLAIN = r"/[A-Za-z0-9_./+-]*"
_NAME = r"[A-Za-z0-9_.+-]+"
_HOME = re.compile(r"^/bin/sh -c 'echo ~([A-Za-z0-9_.-]*) && sleep 0'$")
_MKTEMP = re.compile(
    rf"^/bin/sh -c '\( umask 77 && mkdir -p \"` echo (?P<base>{_PLAIN}) `\"&& mkdir \"` echo (?P<path>{_PLAIN}) `\""
    rf" && echo (?P<name>{_NAME})=\"` echo (?P<echo>{_PLAIN}) `\" \) && sleep 0'$"
)
_REMOVE = re.compile(rf"^/bin/sh -c 'rm -f -r (?P<path>{_PLAIN}) > /dev/null 2>&1 && sleep 0'$")


def _home(user: str) -> tuple[int, bytes, bytes]:
    return 0, (os.path.expanduser(f"~{user}") + "\n").encode(), b""


def _mktemp(base: str, path: str, name: str) -> tuple[int, bytes, bytes]:
    old = os.umask(0o77)
    try:
        os.makedirs(base, exist_ok=True)
        os.mkdir(path)
    except OSError as exc:
        return 1, b"", f"mkdir: cannot create directory '{exc.filename or path}': {exc.strerror}\n".encode()
    finally:
        os.umask(old)
    return 0, f"{name}={path}\n".encode(), b""


def _remove(path: str) -> tuple[int, bytes, bytes]:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError:
        return 1, b"", b""  # rm's own message goes to /dev/null
    return 0, b"", b""


def run(cmd) -> tuple[int, bytes, bytes] | None:
    """(rc, stdout, stderr) of a recognised housekeeping command, None for anything else."""
    if not isinstance(cmd, str):
        return None
    if match := _HOME.match(cmd):
        return _home(match.group(1))
    if match := _MKTEMP.match(cmd):
        base, path, name = match.group("base"), match.group("path"), match.group("name")
        if (
            match.group("echo") != path
            or os.path.dirname(path.rstrip("/")) != base.rstrip("/")
            or os.path.basename(path.rstrip("/")) != name
            or ".." in path.split("/")
        ):
            return None
        return _mktemp(base, path, name)
    if match := _REMOVE.match(cmd):
        if ".." in match.group("path").split("/"):
            return None
        return _remove(match.group("path"))
    return None
