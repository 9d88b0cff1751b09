# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One logrotate run on a configuration file, and what it rotated.

A real run is ``logrotate -v``; check mode is ``logrotate -d``, which reads the same configuration and
state file and prints the same decisions without touching a file, so it predicts exactly which logs a
real run would rotate. A log counts as rotated when logrotate says ``rotating log <path>,`` (it says so
only after deciding that the log needs rotating and exists).
"""

from __future__ import annotations

import os
import re

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._process import find_binary, run

_ROTATING = re.compile(r"^rotating log (.+?), log->rotateCount is \d+", re.MULTILINE)
_ERROR = re.compile(r"^error: (.+)$", re.MULTILINE)


def rotated_logs(output: str) -> list[str]:
    """The logs logrotate's verbose or debug output says it rotates, in order, each once."""
    seen: list[str] = []
    for path in _ROTATING.findall(output):
        if path not in seen:
            seen.append(path)
    return seen


def logrotate(
    config: str,
    *,
    state_file: str | None = None,
    force: bool = False,
    binary: str = "logrotate",
    timeout: float = 300,
    check_mode: bool = False,
) -> dict:
    """Run logrotate on config; return {changed, rotated, cmd}. Raises one-line errors."""
    if not os.path.isfile(config):
        raise ConfigurationError(f"logrotate configuration '{config}' does not exist: write it first")
    if not check_mode and state_file is not None and not os.path.isdir(os.path.dirname(os.path.abspath(state_file))):
        raise ConfigurationError(
            f"the directory of the logrotate state file '{state_file}' does not exist: create it first"
        )
    program = find_binary(binary, "install the Debian package logrotate")
    argv = [program, "-d" if check_mode else "-v"]
    if state_file is not None:
        argv += ["-s", state_file]
    if force:
        argv.append("-f")
    argv.append(config)
    result = run(argv, timeout=timeout, capture=True)
    output = result.output or ""
    if result.timed_out:
        raise CommandError(f"logrotate on '{config}' did not finish within {timeout:g} seconds", cmd=argv)
    if result.rc != 0:
        errors = _ERROR.findall(output)
        reason = errors[0] if errors else (result.tail[-1] if result.tail else "no output")
        raise CommandError(f"logrotate failed on '{config}' (exit {result.rc}): {reason}", cmd=argv, rc=result.rc)
    rotated = rotated_logs(output)
    return {"changed": bool(rotated), "rotated": rotated, "cmd": argv}
