"""Killing a whole process tree at once, as a power cut or an OOM kill would end a run."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


def children_of() -> dict[int, list[int]]:
    """{parent pid: [child pids]} for every process on the machine."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                tree.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return tree


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every descendant (Ansible's workers call setsid, so a process group is not enough)."""
    frozen: list[int] = []
    pending = [pid]
    while pending:  # stop them first, so nothing forks or reacts while the tree is walked
        for victim in pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGSTOP)
                frozen.append(victim)
        tree = children_of()
        pending = [child for parent in frozen for child in tree.get(parent, []) if child not in frozen]
    for victim in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def stop_pid_file(path: Path, timeout: float = 15.0) -> None:
    """Stop the process named in a pid file: SIGTERM, then SIGKILL after ``timeout`` seconds; no file, no process: nothing."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
