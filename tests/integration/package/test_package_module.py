"""conveyor.cicd.package through real ansible-playbook runs, on a copy of the sample application."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile

import pytest

from tests.support.paths import SAMPLE_APP, require_binary
from tests.support.playbook import run_tasks

pytestmark = pytest.mark.integration

CACHES = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache", "*.pyc", ".git", "dist", "build")


@pytest.fixture
def app_tree(tmp_path):
    """A private copy of the sample app (or a small tree while it does not exist), committed to git."""
    tree = tmp_path / "app"
    if (SAMPLE_APP / "pyproject.toml").exists():
        shutil.copytree(SAMPLE_APP, tree, ignore=CACHES, symlinks=True)
    else:
        (tree / "src" / "app").mkdir(parents=True)
        (tree / "src" / "app" / "__init__.py").write_text("__version__ = '1.0.0'\n")
        (tree / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    (tree / "bin").mkdir(exist_ok=True)
    (tree / "bin" / "serve").write_text("#!/bin/sh\nexec python3 -m sample_app\n")
    (tree / "bin" / "serve").chmod(0o755)
    git = require_binary("git")
    env = {
        "GIT_AUTHOR_DATE": "2024-06-01T10:00:00Z",
        "GIT_COMMITTER_DATE": "2024-06-01T10:00:00Z",
        "GIT_AUTHOR_NAME": "ci",
        "GIT_AUTHOR_EMAIL": "ci@example.com",
        "GIT_COMMITTER_NAME": "ci",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
        "PATH": "/usr/bin:/bin",
    }
    for argv in ([git, "init", "-q"], [git, "add", "-A"], [git, "commit", "-q", "-m", "feat: sample"]):
        subprocess.run(argv, cwd=tree, env=env, check=True)
    return tree


def package_task(name, tree, dest, **extra):
    args = {
        "src": str(tree),
        "name": "sample-app",
        "version": "1.0.0",
        "dest": str(dest),
        "formats": ["tar.gz", "zip"],
        "exclude": ["tests/"],
        "test_summary": {"passed": 12, "failed": 0},
    }
    args.update(extra)
    return {"name": name, "conveyor.cicd.package": args, "register": name.replace(" ", "_")}


def digests(directory):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_packaging_is_reproducible_idempotent_and_check_mode_writes_nothing(tmp_path, app_tree):
    dist = tmp_path / "dist"
    preview = tmp_path / "preview"
    tasks = [
        package_task("preview", app_tree, preview) | {"check_mode": True},
        package_task("first", app_tree, dist),
        package_task("second", app_tree, dist),
    ]
    run = run_tasks(tmp_path, tasks, diff=True)
    assert run.rc == 0, run.output

    preview_result, first, second = run.result("preview"), run.result("first"), run.result("second")
    assert preview_result["changed"] is True
    assert not preview.exists(), "check mode wrote files"
    assert first["changed"] is True
    assert second["changed"] is False
    assert [a["sha256"] for a in preview_result["artifacts"]] == [a["sha256"] for a in first["artifacts"]]
    assert first["git"]["commit_time"] == "2024-06-01T10:00:00Z"
    assert first["source_date_epoch_from"] == "git"
    assert first["manifest"]["tests"] == {"passed": 12, "failed": 0}
    assert sorted(p.name for p in dist.iterdir()) == [
        "sample-app-1.0.0.manifest.json",
        "sample-app-1.0.0.tar.gz",
        "sample-app-1.0.0.tar.gz.sha256",
        "sample-app-1.0.0.zip",
        "sample-app-1.0.0.zip.sha256",
    ]
    with tarfile.open(dist / "sample-app-1.0.0.tar.gz") as archive:
        names = archive.getnames()
        serve = archive.getmember("bin/serve")
    assert "pyproject.toml" in names and not any(n.startswith("tests") for n in names)
    assert serve.mode == 0o755 and serve.mtime == first["source_date_epoch"]
    first_bytes = digests(dist)

    # a second, separate ansible-playbook run into a fresh directory gives the same bytes
    again = tmp_path / "again"
    run2 = run_tasks(tmp_path, [package_task("rebuild", app_tree, again)], name="rebuild", check=True)
    assert run2.rc == 0 and run2.result("rebuild")["changed"] is True and not again.exists()
    run3 = run_tasks(tmp_path, [package_task("rebuild", app_tree, again)], name="rebuild")
    assert run3.rc == 0, run3.output
    assert digests(again) == first_bytes


BAD_INPUTS = [
    ({"src": "/nonexistent/build/tree"}, "is not a directory"),
    ({"formats": ["tar.gz", "rar"]}, "rar"),
    ({"include": ["src/[broken"]}, "unclosed '['"),
    ({"build_summary": "all green"}, "dictionary"),
    ({"source_date_epoch": "tomorrow"}, "int"),
    ({"version": "1.0 beta"}, "version must start"),
]


def test_bad_input_fails_with_one_line_and_no_traceback(tmp_path, app_tree):
    dest = tmp_path / "dist"
    tasks = []
    for index, (override, _expected) in enumerate(BAD_INPUTS):
        task = package_task(f"bad {index}", app_tree, dest, **override)
        task["ignore_errors"] = True
        tasks.append(task)
    run = run_tasks(tmp_path, tasks)
    for index, (_override, expected) in enumerate(BAD_INPUTS):
        result = run.result(f"bad {index}")
        assert result.get("failed") is True, result
        assert expected in result["msg"], result["msg"]
        assert "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert not dest.exists()
