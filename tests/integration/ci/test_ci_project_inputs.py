"""The ci role on a flat-layout project with its default cache inputs, and its capped lint failure."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import require_binary
from tests.support.playbook import run_tasks

PY = sys.executable
# a "wheel" made of the package's code, and a by-product in build/ as setuptools leaves one
BUILD = [
    PY,
    "-c",
    "import os; os.makedirs('dist', exist_ok=True); os.makedirs('build/lib', exist_ok=True); "
    "code = open('flatpkg/__init__.py').read(); "
    "open('dist/flatpkg-1.whl', 'w').write(code); open('build/lib/copy.py', 'w').write(code)",
]
# passes when the package imports and says hello
TESTS = [
    PY,
    "-c",
    "import sys; sys.path.insert(0, '.'); import flatpkg; ok = flatpkg.hello() == 'hello'; "
    'open(sys.argv[1], \'w\').write(\'<testsuite name="t" tests="1"><testcase classname="t" name="hello">\''
    " + ('' if ok else '<failure message=\"wrong\"/>') + '</testcase></testsuite>')",
    "{junit_xml}",
]


def flat_project(tmp_path):
    """A package directory at the top, a setup.py, no src/, in a git work tree."""
    app = tmp_path / "app"
    (app / "flatpkg").mkdir(parents=True)
    (app / "flatpkg/__init__.py").write_text("def hello():\n    return 'hello'\n")
    (app / "setup.py").write_text("from setuptools import setup\nsetup(name='flatpkg', version='1')\n")
    (app / ".gitignore").write_text("build/\ndist/\n")
    for argv in (["git", "init", "-q"], ["git", "add", "."]):
        subprocess.run(argv, cwd=app, check=True, capture_output=True)
    return app


def run_role(tmp_path, app, **overrides):
    # the default ci_build_inputs, ci_test_inputs and ci_inputs_from
    role_vars = {
        "ci_project_dir": str(app),
        "ci_state_dir": str(tmp_path / "state"),
        "ci_python": PY,
        "ci_lint_enabled": False,
        "ci_build_steps": [{"name": "wheel", "argv": BUILD}],
        "ci_test_suites": [{"name": "unit", "command": TESTS}],
        **overrides,
    }
    if overrides.get("ci_build_steps") == "default":
        del role_vars["ci_build_steps"]
    return run_tasks(
        tmp_path, [{"name": "ci", "ansible.builtin.include_role": {"name": "conveyor.cicd.ci"}, "vars": role_vars}]
    )


def stages(run):
    return {s["stage"]: s["result"] for s in run.result("Collect the stage results")["ansible_facts"]["ci_result"]}


def test_an_edit_to_a_top_level_package_file_misses_the_build_and_test_caches(tmp_path):
    app = flat_project(tmp_path)
    first = run_role(tmp_path, app)
    assert first.rc == 0, first.output[-3000:]
    assert stages(first) == {"build": "ok", "test:unit": "passed"}
    second = run_role(tmp_path, app)
    assert stages(second) == {"build": "cached", "test:unit": "cached"}

    (app / "flatpkg/__init__.py").write_text("def hello():\n    return 'broken'\n")
    third = run_role(tmp_path, app)
    assert third.rc != 0
    assert stages(third) == {"build": "ok", "test:unit": "failed"}
    assert "broken" in (app / "dist/flatpkg-1.whl").read_text()


def test_a_lint_failure_prints_the_first_findings_and_keeps_all_in_the_result(tmp_path):
    require_binary("ruff")
    app = tmp_path / "app"
    app.mkdir()
    for index in range(25):
        (app / f"m{index:02d}.py").write_text("import os\n")
    run = run_role(tmp_path, app, ci_lint_enabled=True, ci_lint_tools=[{"name": "ruff"}], ci_build_enabled=False)
    assert run.rc != 0
    lint = run.result("Lint and check formatting")
    assert len(lint["findings"]) == 25 and lint["stage"]["result"] == "failed"
    failure = run.result("Fail on the lint findings")
    assert failure["failed"] and failure["msg"].startswith("lint found 25 errors and 0 warnings (ruff: 25); first: ")
    assert failure["msg"].count("[ruff F401]") == 20
    assert failure["msg"].endswith("; ... and 5 more (full list in the result's findings)")
    assert "findings" not in failure
    facts = run.result("Collect the stage results")["ansible_facts"]
    assert [(s["stage"], s["result"], s["details"]) for s in facts["ci_result"]] == [
        ("lint", "failed", "25 errors, 0 warnings (1 tools)")
    ]


def test_a_missing_build_requirement_is_named_on_the_last_line(tmp_path):
    app = tmp_path / "app"
    (app / "flatpkg").mkdir(parents=True)
    (app / "flatpkg/__init__.py").write_text("")
    (app / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools", "conveyor-missing-backend>=1"]\n'
        'build-backend = "setuptools.build_meta"\n[project]\nname = "flatpkg"\nversion = "1"\n'
    )
    # the role's default build step: python -m build --no-isolation
    run = run_role(tmp_path, app, ci_test_enabled=False, ci_build_steps="default")
    assert run.rc != 0
    msg = run.result("Build")["msg"]
    assert "\n" not in msg
    assert msg.startswith("build step 1 'wheel and sdist' failed with exit code 1: ERROR ")
    assert "conveyor-missing-backend>=1" in msg and msg.endswith("found: not installed")
