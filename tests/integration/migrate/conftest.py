"""Helpers for the db_migrate integration tests: fixture migration sets and playbook tasks."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.kill import kill_tree
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


def kill_playbook_when(proc: subprocess.Popen, ready, timeout: float = 120) -> None:
    """Once ``ready()`` is true, SIGKILL ``proc`` and every descendant (workers call setsid: a group is not enough)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"the playbook ended before the point under test: {proc.communicate()}"
        assert time.monotonic() < deadline, "the playbook never reached the point under test"
        time.sleep(0.05)
    kill_tree(proc.pid)
    proc.communicate(timeout=30)
