"""playbooks/release.yml on an application described by inventory variables, in its isolated repository."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.paths import ROOT
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.integration

STATIC = '[project]\nname = "flatapp"\nversion = "0.1.0"\n'
DYNAMIC = '[project]\nname = "flatapp"\ndynamic = ["version"]\n'
# setuptools reads the version from the package: a "version =" line that is not a version
SETUPTOOLS_ATTR = DYNAMIC + '\n[tool.setuptools.dynamic]\nversion = { attr = "flatapp.__version__" }\n'


@pytest.fixture
def inventory(tmp_path):
    """Only the controller: none of the sample app's group vars."""
    path = tmp_path / "hosts.yml"
    path.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return str(path)


def make_app(tmp_path, pyproject):
    app = tmp_path / "flatapp"
    (app / "flatapp").mkdir(parents=True)
    (app / "flatapp" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    if pyproject is not None:
        (app / "pyproject.toml").write_text(pyproject)
    return app


def release(app, inventory, tmp_path, **extra):
    extra_vars = {
        "conveyor_app_dir": str(app),
        "conveyor_state_dir": str(tmp_path / "state"),
        "conveyor_app_name": "flatapp",
        **extra,
    }
    return run_playbook(ROOT / "playbooks" / "release.yml", inventory=inventory, extra_vars=extra_vars)


def tags(repo):
    out = subprocess.run(["git", "-C", str(repo), "tag"], capture_output=True, text=True, check=True).stdout
    return out.split()


def test_a_static_pyproject_version_is_the_default_version_file(tmp_path, inventory):
    run = release(make_app(tmp_path, STATIC), inventory, tmp_path)
    assert run.rc == 0, run.output[-3000:]
    repo = tmp_path / "state" / "release" / "flatapp"  # named after the application
    assert tags(repo) == ["v0.1.0", "v0.2.0"]
    assert 'version = "0.2.0"' in (repo / "pyproject.toml").read_text()
    assert (repo / "flatapp" / "__init__.py").read_text() == '__version__ = "0.1.0"\n'


@pytest.mark.parametrize(
    "pyproject", [DYNAMIC, SETUPTOOLS_ATTR, None], ids=["dynamic-version", "setuptools-attr", "no-pyproject"]
)
def test_without_a_static_version_no_file_is_rewritten_and_the_tag_carries_it(tmp_path, inventory, pyproject):
    run = release(make_app(tmp_path, pyproject), inventory, tmp_path)
    assert run.rc == 0, run.output[-3000:]
    repo = tmp_path / "state" / "release" / "flatapp"
    assert tags(repo) == ["v0.1.0", "v0.2.0"]
    if pyproject is not None:
        assert (repo / "pyproject.toml").read_text() == pyproject


def test_conveyor_version_files_names_the_files(tmp_path, inventory):
    run = release(make_app(tmp_path, DYNAMIC), inventory, tmp_path, conveyor_version_files=["flatapp/__init__.py"])
    assert run.rc == 0, run.output[-3000:]
    repo = tmp_path / "state" / "release" / "flatapp"
    assert (repo / "flatapp" / "__init__.py").read_text() == '__version__ = "0.2.0"\n'
