"""Default cache inputs: every file of the project (git's view of it, or the whole tree), never a stale result."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._build import run_build
from ansible_collections.conveyor.cicd.plugins.module_utils._cache import inputs_digest
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._files import select_files
from ansible_collections.conveyor.cicd.plugins.module_utils._test_suite import run_suite

# a "wheel" made of the package's code, and a by-product in build/ as setuptools leaves one
BUILD = [
    sys.executable,
    "-c",
    "import os; os.makedirs('dist', exist_ok=True); os.makedirs('build/lib', exist_ok=True); "
    "code = open('flatpkg/__init__.py').read(); "
    "open('dist/flatpkg-1.whl', 'w').write(code); open('build/lib/copy.py', 'w').write(code)",
]
# passes when the package imports and says hello
TESTS = [
    sys.executable,
    "-c",
    "import sys; sys.path.insert(0, '.'); import flatpkg; ok = flatpkg.hello() == 'hello'; "
    'open(sys.argv[1], \'w\').write(\'<testsuite name="t" tests="1"><testcase classname="t" name="hello">\''
    " + ('' if ok else '<failure message=\"wrong\"/>') + '</testcase></testsuite>')",
    "{junit_xml}",
]


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(params=["git", "no-git"])
def flat(request, tmp_path):
    """A flat layout: the package directory at the top, a setup.py, no src/."""
    app = tmp_path / "app"
    (app / "flatpkg").mkdir(parents=True)
    (app / "flatpkg/__init__.py").write_text("def hello():\n    return 'hello'\n")
    (app / "setup.py").write_text("from setuptools import setup\nsetup(name='flatpkg', version='1')\n")
    (app / ".gitignore").write_text("build/\ndist/\n*.log\n")
    if request.param == "git":
        _git(app, "init", "-q")
        _git(app, "add", ".")
    return app


def _build(app, cache):
    return run_build(
        chdir=str(app),
        steps=[{"name": "wheel", "argv": BUILD}],
        inputs=["**"],
        inputs_from="git",
        outputs=["dist/*"],
        cache_dir=str(cache),
        clean_outputs=True,
        log_file=str(app / "build.log"),
    )


def _test(app, cache):
    # the report and the cache beside the project, as the ci role keeps them in its state directory
    return run_suite(
        "unit",
        TESTS,
        str(app),
        report=str(cache.parent / "reports/junit-unit.xml"),
        inputs=["**"],
        inputs_from="git",
        cache_dir=str(cache),
        fail_on_failure=False,
    )


def test_an_edit_to_a_top_level_package_file_misses_both_caches(flat, tmp_path):
    cache = tmp_path / "cache"
    assert _build(flat, cache)["cache"] == "miss"
    assert _test(flat, cache)["cache"] == "miss"
    # nothing changed: the by-products in build/ and dist/, the log and the report are no inputs
    assert _build(flat, cache)["cache"] == "hit"
    assert _test(flat, cache)["cache"] == "hit"

    (flat / "flatpkg/__init__.py").write_text("def hello():\n    return 'broken'\n")
    rebuilt = _build(flat, cache)
    assert rebuilt["cache"] == "miss" and rebuilt["step_results"]
    assert (flat / "dist/flatpkg-1.whl").read_text().count("broken") == 1
    tested = _test(flat, cache)
    assert tested["cache"] == "miss" and tested["failed_tests"] == 1


def test_git_lists_tracked_and_untracked_files_but_not_ignored_ones(tmp_path):
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg/core.py").write_text("A = 1\n")
    (app / ".gitignore").write_text("*.tmp\n")
    _git(app, "init", "-q")
    _git(app, "add", ".")
    (app / "pkg/new.py").write_text("B = 2\n")  # not added yet: still an input
    (app / "scratch.tmp").write_text("ignored\n")
    (app / ".venv/lib").mkdir(parents=True)
    (app / ".venv/lib/site.py").write_text("")
    assert select_files(str(app), ["**"], source="git") == [".gitignore", "pkg/core.py", "pkg/new.py"]
    # the whole tree would have the ignored file too
    assert "scratch.tmp" in select_files(str(app), ["**"], source="tree")

    before = inputs_digest(str(app), ["**"], source="git")
    (app / "scratch.tmp").write_text("changed, and ignored\n")
    assert inputs_digest(str(app), ["**"], source="git") == before
    (app / "pkg/new.py").write_text("B = 3\n")
    assert inputs_digest(str(app), ["**"], source="git") != before


def test_a_project_inside_a_repository_lists_its_own_files_and_deletions_count(tmp_path):
    repo = tmp_path / "repo"
    app = repo / "apps/one"
    app.mkdir(parents=True)
    (app / "main.py").write_text("x = 1\n")
    (app / "util.py").write_text("y = 1\n")
    (repo / "other.py").write_text("")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    assert select_files(str(app), ["**"], source="git") == ["main.py", "util.py"]
    before = inputs_digest(str(app), ["**"], source="git")
    (app / "util.py").unlink()  # deleted, not yet committed: a change
    assert inputs_digest(str(app), ["**"], source="git") != before


def test_a_directory_its_repository_ignores_falls_back_to_the_tree(tmp_path):
    repo = tmp_path / "repo"
    app = repo / "ignored/app"
    app.mkdir(parents=True)
    (repo / ".gitignore").write_text("ignored/\n")
    (app / "main.py").write_text("x = 1\n")
    (app / "build").mkdir()
    (app / "build/lib.py").write_text("")
    _git(repo, "init", "-q")
    assert select_files(str(app), ["**"], source="git") == ["main.py"]


def test_symlinks_to_directories_and_dangling_ones_are_hashed_by_their_target(tmp_path):
    app = tmp_path / "app"
    (app / "real").mkdir(parents=True)
    (app / "real/a.txt").write_text("a")
    os.symlink("real", app / "alias")
    os.symlink("missing", app / "dangling")
    _git(app, "init", "-q")
    _git(app, "add", ".")
    assert select_files(str(app), ["**"], source="git") == ["alias", "dangling", "real/a.txt"]
    before = inputs_digest(str(app), ["**"], source="git")
    os.unlink(app / "dangling")
    os.symlink("elsewhere", app / "dangling")
    assert inputs_digest(str(app), ["**"], source="git") != before


def test_an_unknown_input_source_is_one_line(tmp_path):
    with pytest.raises(ConfigurationError, match="inputs_from must be one of tree, git, got 'svn'"):
        select_files(str(tmp_path), ["**"], source="svn")


def test_build_outputs_are_never_build_inputs(tmp_path):
    (tmp_path / "a.py").write_text("")
    (tmp_path / "out").mkdir()
    (tmp_path / "out/a.bin").write_text("old")
    assert select_files(str(tmp_path), ["**"], exclude=["out/*"]) == ["a.py"]
    assert select_files(str(tmp_path), ["**"], skip=[str(tmp_path / "out")]) == ["a.py"]


def test_a_report_log_and_cache_inside_the_project_are_no_inputs(tmp_path):
    app = tmp_path / "app"
    (app / "flatpkg").mkdir(parents=True)
    (app / "flatpkg/__init__.py").write_text("def hello():\n    return 'hello'\n")

    def run():
        return run_suite(
            "unit",
            TESTS,
            str(app),
            inputs=["**"],
            inputs_from="tree",
            cache_dir=str(app / "ci-cache"),
            log_file=str(app / "logs/unit.log"),
        )

    assert run()["cache"] == "miss"
    assert (app / "junit-unit.xml").is_file() and (app / "logs/unit.log").is_file()
    assert run()["cache"] == "hit"
