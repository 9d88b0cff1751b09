"""The ci role's summary facts and table, from the records its modules return, through real playbook runs."""

from __future__ import annotations

import sys

import pytest

from tests.support.paths import require_binary
from tests.support.playbook import run_tasks

PY = sys.executable
WRITES_JUNIT = [PY, "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])", "{junit_xml}"]
REPORT = (
    '<testsuite name="t" tests="3"><testcase classname="t" name="a"/><testcase classname="t" name="b"/>'
    '<testcase classname="t" name="c"><skipped/></testcase></testsuite>'
)
ONE_CASE = '<testsuite name="t" tests="1"><testcase classname="t" name="a"/></testsuite>'
BUILD = [
    PY,
    "-c",
    "import os; os.makedirs('dist', exist_ok=True); "
    "open('dist/app-1.whl', 'wb').write(bytes(5000)); open('dist/app-1.tar.gz', 'wb').write(bytes(3000))",
]


@pytest.fixture
def project(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text('"""App."""\n\nVALUE = 1\n')
    return app


def run_role(tmp_path, project, **overrides):
    require_binary("ruff")
    role_vars = {
        "ci_project_dir": str(project),
        "ci_state_dir": str(tmp_path / "state"),
        "ci_python": PY,
        "ci_lint_tools": [{"name": "ruff"}],
        "ci_build_steps": [{"name": "dist", "argv": BUILD}],
        "ci_build_inputs": ["*.py"],
        "ci_test_inputs": ["*.py"],
        "ci_test_suites": [
            {"name": "unit", "command": [*WRITES_JUNIT, REPORT]},
            {"name": "e2e", "command": [*WRITES_JUNIT, ONE_CASE]},
        ],
        **overrides,
    }
    return run_tasks(
        tmp_path, [{"name": "ci", "ansible.builtin.include_role": {"name": "conveyor.cicd.ci"}, "vars": role_vars}]
    )


@pytest.mark.parametrize("parallel", [True, False])
def test_the_summary_facts_and_table_come_from_the_module_records(tmp_path, project, parallel):
    run = run_role(tmp_path, project, ci_test_parallel=parallel)
    assert run.rc == 0, run.output
    # one task in both modes, named as the two tasks were before
    tests = run.result("Run test suites in parallel" if parallel else "Run test suites one after another")
    assert [s["stage"] for s in tests["stages"]] == ["test:unit", "test:e2e"]
    facts = run.result("Collect the stage results")["ansible_facts"]
    assert [(s["stage"], s["result"], s["details"]) for s in facts["ci_result"]] == [
        ("lint", "ok", "0 errors, 0 warnings (1 tools)"),
        ("build", "ok", "2 outputs, 7 KiB"),
        ("test:unit", "passed", "2/3 passed, 0 failed, 1 skipped"),
        ("test:e2e", "passed", "1/1 passed, 0 failed, 0 skipped"),
    ]
    assert all(isinstance(s["duration"], float) for s in facts["ci_result"])
    assert [o["path"] for o in facts["ci_build_summary"]["outputs"]] == ["dist/app-1.tar.gz", "dist/app-1.whl"]
    assert len(facts["ci_build_summary"]["cache_key"]) == 64
    assert facts["ci_outputs"] == [f"{project}/dist/app-1.tar.gz", f"{project}/dist/app-1.whl"]
    assert facts["ci_test_summary"] == {
        "unit": {"tests": 3, "passed": 2, "failed": 0, "errors": 0, "skipped": 1},
        "e2e": {"tests": 1, "passed": 1, "failed": 0, "errors": 0, "skipped": 0},
    }
    table = run.result("Show the CI summary")["msg"]
    assert table[0] == "stage             result    time  details"
    assert table[2].startswith("build             ok     ") and table[2].endswith("s  2 outputs, 7 KiB")
    for name in ("unit", "e2e"):
        assert (tmp_path / "state" / "reports" / f"junit-{name}.xml").is_file()
        assert (tmp_path / "state" / "logs" / f"test-{name}.log").is_file()

    again = run_role(tmp_path, project, ci_test_parallel=parallel)
    stages = again.result("Collect the stage results")["ansible_facts"]["ci_result"]
    assert [s["result"] for s in stages] == ["cached", "cached", "cached", "cached"]


def test_a_failed_build_is_summarised_and_the_tests_are_left_out(tmp_path, project):
    compile_step = {"name": "compile", "argv": [PY, "-c", "raise SystemExit(3)"]}
    run = run_role(tmp_path, project, ci_build_steps=[compile_step])
    assert run.rc != 0
    facts = run.result("Collect the stage results")["ansible_facts"]
    assert [(s["stage"], s["result"], s["details"]) for s in facts["ci_result"]] == [
        ("lint", "ok", "0 errors, 0 warnings (1 tools)"),
        ("build", "failed", "0 outputs, 0 KiB - failed step: compile"),
    ]
    assert facts["ci_build_summary"] == {"cache_key": None, "outputs": []}
    assert facts["ci_outputs"] == [] and facts["ci_test_summary"] == {}


def test_a_stage_that_did_not_run_is_skipped(tmp_path, project):
    (project / "bad.py").write_text("import os\n")
    run = run_role(tmp_path, project)
    facts = run.result("Collect the stage results")["ansible_facts"]
    assert [(s["stage"], s["result"], s["details"]) for s in facts["ci_result"]] == [
        ("lint", "failed", "1 errors, 0 warnings (1 tools)"),
        ("build", "skipped", "0 outputs, 0 KiB"),
    ]
