"""Fixtures for the Terraform tests: a private copy of an offline test project, and task builders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.paths import require_binary

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def terraform_bin():
    return require_binary("terraform", "the provision module and the terraform_hosts inventory need it")


@pytest.fixture
def project(tmp_path, terraform_bin):
    """A writable copy of the 'items' project; its resources create directories under ``tmp_path/root``."""
    dest = tmp_path / "project"
    shutil.copytree(FIXTURES / "items", dest)
    (tmp_path / "root").mkdir()
    return dest


def provision(name: str, project: Path, register: str | None = None, **params) -> dict:
    """One conveyor.cicd.provision task; ``variables.root`` defaults to the project's sibling ``root``."""
    params.setdefault("project_path", str(project))
    variables = dict(params.pop("variables", {}) or {})
    variables.setdefault("root", str(project.parent / "root"))
    params["variables"] = variables
    task = {"name": name, "conveyor.cicd.provision": params}
    if register:
        task["register"] = register
    return task


def expect_failure(task: dict) -> dict:
    """The task with ignore_errors, so the play continues and the failed result can be read."""
    return dict(task, ignore_errors=True)
