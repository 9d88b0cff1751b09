"""Fixtures for the CI module tests: a private copy of the sample app."""

from __future__ import annotations

import shutil

import pytest

from tests.support.paths import SAMPLE_APP

IGNORE = shutil.ignore_patterns(
    ".venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "build",
    "dist",
    "*.egg-info",
    ".conveyor",
    "junit-*.xml",
    "*.db",
)


@pytest.fixture
def app(tmp_path):
    """A copy of examples/sample_app that a test may modify."""
    dest = tmp_path / "sample_app"
    shutil.copytree(SAMPLE_APP, dest, ignore=IGNORE)
    return dest
