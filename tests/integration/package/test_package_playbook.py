"""playbooks/package.yml on an application that is not the sample app: a flat layout, described by inventory."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile

import pytest

from tests.support.paths import ROOT, require_binary
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.integration

GIT_ENV = {
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.com",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.com",
    "GIT_AUTHOR_DATE": "2024-06-01T10:00:00Z",
    "GIT_COMMITTER_DATE": "2024-06-01T10:00:00Z",
    "PATH": "/usr/bin:/bin",
}


def git(tree, *argv):
    subprocess.run([require_binary("git"), *argv], cwd=tree, env=GIT_ENV, check=True)


@pytest.fixture
def flat_app(tmp_path):
    """An app with its package at the top (no src/), committed, with an untracked venv and scratch file."""
    app = tmp_path / "flatapp"
    (app / "flatapp").mkdir(parents=True)
    (app / "flatapp" / "__init__.py").write_text('__version__ = "2.3.2"\n')
    (app / "flatapp" / "server.py").write_text("def main():\n    return 0\n")
    (app / "setup.py").write_text("from setuptools import setup\nsetup(name='flatapp')\n")
    (app / "README.md").write_text("flatapp\n")
    git(app, "init", "-q")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "feat: first")
    (app / ".venv" / "bin").mkdir(parents=True)
    (app / ".venv" / "bin" / "python").write_text("not code\n")
    (app / "scratch.txt").write_text("untracked notes\n")
    return app


@pytest.fixture
def inventory(tmp_path):
    """Only the controller: none of the sample app's group vars."""
    path = tmp_path / "hosts.yml"
    path.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return str(path)


def package(app, inventory, tmp_path, **extra):
    wheel = tmp_path / "flatapp-2.3.2-py3-none-any.whl"
    if not wheel.exists():
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("flatapp/__init__.py", '__version__ = "2.3.2"\n')
    extra_vars = {
        "conveyor_app_dir": str(app),
        "conveyor_state_dir": str(tmp_path / "state"),
        "conveyor_app_name": "flatapp",
        "ci_outputs": [str(wheel)],
        "ci_build_summary": {},
        "ci_test_summary": {},
        **extra,
    }
    return run_playbook(ROOT / "playbooks" / "package.yml", inventory=inventory, extra_vars=extra_vars)


def packed(tmp_path, version):
    path = tmp_path / "state" / "packages" / f"flatapp-{version}.tar.gz"
    with tarfile.open(path) as archive:
        return sorted(member.name for member in archive.getmembers() if not member.isdir())


def test_by_default_the_package_holds_every_file_git_tracks(flat_app, inventory, tmp_path):
    git(flat_app, "tag", "v2.3.2")  # a release build: the checkout of the release tag
    first = package(flat_app, inventory, tmp_path, conveyor_snapshot=False)
    assert first.rc == 0, first.output[-3000:]
    result = first.result("Package the release")
    assert result["file_selection"] == "git" and result["version"] == "2.3.2" and result["release_tag"] == "v2.3.2"
    assert packed(tmp_path, "2.3.2") == ["README.md", "flatapp/__init__.py", "flatapp/server.py", "setup.py"]
    again = package(flat_app, inventory, tmp_path, conveyor_snapshot=False)
    assert again.rc == 0 and again.stats["localhost"]["changed"] == 0, again.output[-3000:]


def test_include_globs_narrow_the_package(flat_app, inventory, tmp_path):
    git(flat_app, "tag", "release-2.3.2")
    run = package(
        flat_app,
        inventory,
        tmp_path,
        conveyor_snapshot=False,
        conveyor_release_tag_format="release-{version}",
        conveyor_package_include=["flatapp/"],
    )
    assert run.rc == 0, run.output[-3000:]
    assert packed(tmp_path, "2.3.2") == ["flatapp/__init__.py", "flatapp/server.py"]


def test_an_include_written_for_another_layout_fails_with_one_line(flat_app, inventory, tmp_path):
    run = package(flat_app, inventory, tmp_path, conveyor_package_include=["src/**", "setup.py"])
    assert run.rc != 0
    failed = run.result("Package the release")
    assert failed["msg"].startswith("include pattern 'src/**' selects no file in"), failed["msg"]
    assert "\n" not in failed["msg"]
    assert not (tmp_path / "state" / "packages").exists()


def test_an_app_dir_whose_files_git_does_not_track_is_an_error_not_an_empty_package(tmp_path, inventory):
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "README.md").write_text("repo\n")
    git(repo, "init", "-q")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "docs: readme")
    (repo / "app" / "main.py").write_text("print('never added')\n")
    run = package(repo / "app", inventory, tmp_path)
    assert run.rc != 0
    msg = run.result("Package the release")["msg"]
    assert "the package would be empty" in msg and "git tracks none" in msg and "\n" not in msg, msg


def test_a_release_build_of_a_commit_the_release_tag_does_not_name_fails_and_writes_nothing(
    flat_app, inventory, tmp_path
):
    run = package(flat_app, inventory, tmp_path, conveyor_snapshot=False)
    assert run.rc != 0
    msg = run.result("Package the release")["msg"]
    assert msg.startswith("flatapp 2.3.2 is not a release build: commit ") and "is not tagged v2.3.2 (" in msg, msg
    assert "\n" not in msg
    assert not (tmp_path / "state" / "packages").exists()
