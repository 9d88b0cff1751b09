"""Default cache inputs: every file of the project (git's view of it, or the whole tree), never a stale result."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._build import error_line, run_build
from ansible_collections.conveyor.cicd.plugins.module_utils._cache import inputs_digest
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._files import select_files
from ansible_collections.conveyor.cicd.plugins.module_utils._lint import _finish
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


UNMET = [
    "writing manifest file 'pkg.egg-info/SOURCES.txt'",
    "",
    "ERROR Unmet dependencies (checked against /opt/venv/bin/python):",
    "\tbackend-that-is-missing>=1",
    "\t\twanted: >=1",
    "\t\tfound: not installed",
]


def test_error_line_names_the_missing_requirement():
    assert error_line(UNMET) == (
        "ERROR Unmet dependencies (checked against /opt/venv/bin/python): backend-that-is-missing>=1 "
        "wanted: >=1 found: not installed"
    )
    traceback = [
        "Traceback (most recent call last):",
        '  File "x.py", line 1',
        "ModuleNotFoundError: No module named 'flit_core'",
        "",
    ]
    assert error_line(traceback) == "ModuleNotFoundError: No module named 'flit_core'"
    assert error_line(["compiling", "done badly", ""]) == "done badly"
    assert error_line([]) == "(no output)"


def test_a_failed_build_names_what_failed_on_its_last_line(tmp_path):
    script = (
        "import sys; print('ERROR Unmet dependencies:'); print('\\tbackend-that-is-missing>=1'); "
        "print('\\t\\tfound: not installed'); sys.exit(1)"
    )
    with pytest.raises(CommandError) as info:
        run_build(chdir=str(tmp_path), steps=[{"name": "wheel", "argv": [sys.executable, "-c", script]}])
    assert info.value.msg.splitlines()[-1].endswith(
        "failed with exit code 1: ERROR Unmet dependencies: backend-that-is-missing>=1 found: not installed"
    )


def _findings(count):
    return [
        {
            "tool": "ruff",
            "path": f"m{i:04d}.py",
            "line": 1,
            "column": 1,
            "rule": "F401",
            "severity": "error",
            "message": "`os` imported but unused",
        }
        for i in range(count)
    ]


def test_a_lint_failure_names_twenty_findings_and_keeps_them_all_in_the_result():
    findings = _findings(1590)
    summary = {
        "by_severity": {"error": 1590, "warning": 0, "info": 0},
        "by_tool": {"ruff": {"error": 1590, "warning": 0, "info": 0}},
        "total": 1590,
    }
    with pytest.raises(CommandError) as info:
        _finish({"findings": findings, "summary": summary}, "error")
    msg = info.value.msg
    assert "\n" not in msg
    assert msg.startswith("lint found 1590 errors and 0 warnings (ruff: 1590); first: m0000.py:1 [ruff F401]")
    assert msg.count("[ruff F401]") == 20 and "m0019.py" in msg and "m0020.py" not in msg
    assert msg.endswith("; ... and 1570 more (full list in the result's findings)")
    assert len(info.value.details["findings"]) == 1590


def test_a_short_lint_failure_lists_every_finding_without_a_tail():
    summary = {
        "by_severity": {"error": 3, "warning": 0, "info": 0},
        "by_tool": {"ruff": {"error": 3, "warning": 0, "info": 0}},
        "total": 3,
    }
    with pytest.raises(CommandError) as info:
        _finish({"findings": _findings(3), "summary": summary}, "error")
    assert info.value.msg.count("[ruff F401]") == 3 and "more" not in info.value.msg


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
