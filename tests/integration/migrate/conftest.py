"""Helpers for the db_migrate integration tests: fixture migration sets and playbook tasks."""

from __future__ import annotations

import shutil
import subprocess
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
    """Start ansible-playbook without waiting (for the concurrency tests)."""
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), *args]
    return subprocess.Popen(argv, env=ansible_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
