"""Helpers for the db_migrate integration tests: fixture migration sets and playbook tasks."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.paths import VENV_BIN
from tests.support.playbook import ansible_env

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def migrations(tmp_path):
    """A writable copy of the basic migration set (V1, V2, U1, U2, R)."""
    target = tmp_path / "migrations"
    shutil.copytree(FIXTURES / "basic", target)
    return target


def start_playbook(playbook: Path, *args: str) -> subprocess.Popen:
    """Start ansible-playbook without waiting (for the concurrency and kill tests), in its own session."""
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), *args]
    return subprocess.Popen(argv, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip


def _children() -> dict:
    tree: dict = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                tree.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    return tree


def kill_playbook_when(proc: subprocess.Popen, ready, timeout: float = 120) -> None:
    """Once ``ready()`` is true, SIGKILL ``proc`` and every descendant (workers call setsid: a group is not enough)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"the playbook ended before the point under test: {proc.communicate()}"
        assert time.monotonic() < deadline, "the playbook never reached the point under test"
        time.sleep(0.05)
    frozen: list[int] = []
    pending = [proc.pid]
    while pending:  # stop them first, so nothing forks or reacts while the tree is walked
        for victim in pending:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGSTOP)
                frozen.append(victim)
        tree = _children()
        pending = [child for parent in frozen for child in tree.get(parent, []) if child not in frozen]
    for victim in frozen:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    proc.communicate(timeout=30)
