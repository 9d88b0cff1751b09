"""The records lint, build and test_suite return for the next steps: CI stages, build summary, test counts.

Every record is checked on success, on a cache hit and in the details of a failure, where the ci role reads it.
"""

from __future__ import annotations

import os
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._build import build_stage, run_build
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    MissingDependencyError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._lint import lint_stage, run_lint
from ansible_collections.conveyor.cicd.plugins.module_utils._test_suite import (
    run_suite,
    run_suites,
    suite_counts,
    suite_stage,
)
from tests.support.paths import require_binary

STAGE_KEYS = ["stage", "result", "duration", "details"]
SLEEPS = [sys.executable, "-c", "import time; time.sleep(5)", "{junit_xml}"]


def junit(tests: int = 0, failures: int = 0, skipped: int = 0) -> str:
    cases = "".join(
        f'<testcase classname="t" name="c{i}">'
        + ("<failure message='no'/>" if i < failures else "<skipped/>" if i < failures + skipped else "")
        + "</testcase>"
        for i in range(tests)
    )
    return f'<testsuite name="t" tests="{tests}">{cases}</testsuite>'


def writes(report: str) -> list[str]:
    """A test command that writes ``report`` as its JUnit XML."""
    return [sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])", "{junit_xml}", report]


# --- lint ----------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "clean.py").write_text('"""Clean."""\n\nVALUE = 1\n')
    return tmp_path


def test_lint_stage_counts_errors_warnings_and_tools(tree, tmp_path):
    require_binary("ruff")
    first = run_lint(str(tree), [{"name": "ruff"}, {"name": "ruff-format"}], cache_dir=str(tmp_path / "cache"))
    stage = first["stage"]
    assert list(stage) == STAGE_KEYS
    assert (stage["stage"], stage["result"], stage["details"]) == ("lint", "ok", "0 errors, 0 warnings (2 tools)")
    assert stage["duration"] == first["duration"] and isinstance(stage["duration"], float)
    again = run_lint(str(tree), [{"name": "ruff"}, {"name": "ruff-format"}], cache_dir=str(tmp_path / "cache"))
    assert again["stage"]["result"] == "cached"


def test_a_failing_lint_carries_its_stage_with_the_counts(tree):
    require_binary("ruff")
    (tree / "bad.py").write_text("import os\nimport sys\n")
    with pytest.raises(CommandError) as failed:
        run_lint(str(tree), [{"name": "ruff"}])
    stage = failed.value.details["stage"]
    assert (stage["result"], stage["details"]) == ("failed", "2 errors, 0 warnings (1 tools)")
    assert stage["duration"] == failed.value.details["duration"]


def test_bad_lint_input_carries_a_failed_stage_without_counts(tree):
    with pytest.raises(ConfigurationError) as failed:
        run_lint(str(tree), [{"name": "eslint"}])
    assert failed.value.details["stage"] == {
        "stage": "lint",
        "result": "failed",
        "duration": 0.0,
        "details": "0 errors, 0 warnings (0 tools)",
    }
    with pytest.raises(MissingDependencyError) as missing:
        run_lint(str(tree), [{"name": "ruff", "executable": "ruff-not-installed"}])
    assert missing.value.details["stage"]["result"] == "failed"


def test_lint_stage_of_warnings():
    summary = {"by_tool": {"yamllint": {}, "ruff": {}}, "by_severity": {"error": 0, "warning": 3, "info": 1}}
    stage = lint_stage({"summary": summary, "duration": 1.25, "cache": "miss"})
    assert stage == {"stage": "lint", "result": "ok", "duration": 1.25, "details": "0 errors, 3 warnings (2 tools)"}


# --- build ---------------------------------------------------------------------------

STEP = [
    sys.executable,
    "-c",
    "import os; os.makedirs('dist', exist_ok=True); "
    "open('dist/app.whl', 'wb').write(bytes(3000)); open('dist/app.tar.gz', 'wb').write(bytes(2000))",
]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "src.txt").write_text("source\n")
    return tmp_path / "app"


def build(project, **kw):
    kw.setdefault("steps", [{"name": "dist", "argv": STEP}])
    return run_build(chdir=str(project), inputs=["src.txt"], outputs=["dist/*"], **kw)


def test_build_returns_its_stage_the_manifest_summary_and_the_output_paths(project, tmp_path):
    first = build(project, cache_dir=str(tmp_path / "cache"))
    assert list(first["stage"]) == STAGE_KEYS
    assert (first["stage"]["stage"], first["stage"]["result"]) == ("build", "ok")
    assert first["stage"]["details"] == "2 outputs, 4 KiB"
    assert first["stage"]["duration"] == first["duration"]
    assert first["summary"] == {"cache_key": first["cache_key"], "outputs": first["outputs"]}
    assert first["output_paths"] == [
        os.path.join(str(project), "dist/app.tar.gz"),
        os.path.join(str(project), "dist/app.whl"),
    ]

    hit = build(project, cache_dir=str(tmp_path / "cache"))
    assert hit["stage"]["result"] == "cached" and hit["stage"]["details"] == "2 outputs, 4 KiB"
    assert hit["summary"] == first["summary"] and hit["output_paths"] == first["output_paths"]


def test_a_build_in_check_mode_predicts_no_outputs(project, tmp_path):
    predicted = build(project, cache_dir=str(tmp_path / "cache"), check_mode=True)
    assert (predicted["stage"]["result"], predicted["stage"]["details"]) == ("ok", "0 outputs, 0 KiB")
    assert predicted["summary"] == {"cache_key": predicted["cache_key"], "outputs": []}
    assert predicted["output_paths"] == []


def test_a_failed_build_carries_its_stage_and_an_empty_summary(project, tmp_path):
    steps = [{"name": "compile", "argv": [sys.executable, "-c", "raise SystemExit(3)"]}]
    with pytest.raises(CommandError) as failed:
        build(project, steps=steps, cache_dir=str(tmp_path / "cache"))
    details = failed.value.details
    assert details["stage"] == {
        "stage": "build",
        "result": "failed",
        "duration": 0.0,
        "details": "0 outputs, 0 KiB - failed step: compile",
    }
    assert details["summary"] == {"cache_key": None, "outputs": []}
    assert details["output_paths"] == []
    assert details["failed_step"] == "compile"

    with pytest.raises(ConfigurationError) as bad:
        build(project, steps="make all")
    assert bad.value.details["stage"]["details"] == "0 outputs, 0 KiB"


def test_build_stage_rounds_the_size_down_to_kib():
    outputs = [{"path": "a", "size": 1023, "sha256": "0"}, {"path": "b", "size": 1024, "sha256": "1"}]
    assert build_stage({"outputs": outputs, "cache": "disabled"})["details"] == "2 outputs, 1 KiB"


# --- test_suite ----------------------------------------------------------------------


def test_one_suite_returns_its_stage_and_its_counts(tmp_path):
    first = run_suite(
        name="unit",
        command=writes(junit(tests=4, skipped=1)),
        chdir=str(tmp_path),
        inputs=["*.txt"],
        cache_dir=str(tmp_path / "cache"),
    )
    assert list(first["stage"]) == STAGE_KEYS
    assert first["stage"]["stage"] == "test:unit" and first["stage"]["result"] == "passed"
    assert first["stage"]["details"] == "3/4 passed, 0 failed, 1 skipped"
    assert first["stage"]["duration"] == first["duration"]
    assert first["counts"] == {"unit": {"tests": 4, "passed": 3, "failed": 0, "errors": 0, "skipped": 1}}


def test_a_cached_suite_is_cached(tmp_path):
    (tmp_path / "in.txt").write_text("x")
    args = dict(name="unit", command=writes(junit(tests=2)), chdir=str(tmp_path), inputs=["in.txt"])
    run_suite(cache_dir=str(tmp_path / "cache"), **args)
    hit = run_suite(cache_dir=str(tmp_path / "cache"), **args)
    assert hit["stage"]["result"] == "cached" and hit["stage"]["details"] == "2/2 passed, 0 failed, 0 skipped"
    assert hit["counts"]["unit"]["passed"] == 2


def test_a_failing_suite_carries_its_stage_and_counts(tmp_path):
    with pytest.raises(CommandError) as failed:
        run_suite(name="unit", command=writes(junit(tests=3, failures=2)), chdir=str(tmp_path))
    details = failed.value.details
    assert details["stage"]["result"] == "failed"
    assert details["stage"]["details"] == "1/3 passed, 2 failed, 0 skipped"
    assert details["stage"]["duration"] == details["duration"] > 0
    assert details["counts"] == {"unit": {"tests": 3, "passed": 1, "failed": 2, "errors": 0, "skipped": 0}}

    with pytest.raises(CommandError, match="timed out") as timed_out:
        run_suite(name="slow", command=SLEEPS, chdir=str(tmp_path), timeout=0.3)
    assert timed_out.value.details["stage"] == {
        "stage": "test:slow",
        "result": "failed",
        "duration": 0.0,
        "details": "0/0 passed, 0 failed, 0 skipped",
    }
    assert timed_out.value.details["counts"] == {}


def test_suites_return_one_stage_per_suite_in_order_and_the_counts(tmp_path):
    result = run_suites(
        [
            {"name": "unit", "command": writes(junit(tests=2))},
            {"name": "e2e", "command": writes(junit(tests=1))},
        ],
        chdir=str(tmp_path),
        max_parallel=1,
    )
    assert [(s["stage"], s["result"], s["details"]) for s in result["stages"]] == [
        ("test:unit", "passed", "2/2 passed, 0 failed, 0 skipped"),
        ("test:e2e", "passed", "1/1 passed, 0 failed, 0 skipped"),
    ]
    assert result["counts"] == {
        "unit": {"tests": 2, "passed": 2, "failed": 0, "errors": 0, "skipped": 0},
        "e2e": {"tests": 1, "passed": 1, "failed": 0, "errors": 0, "skipped": 0},
    }
    assert "stage" not in result["suites"][0]


def test_suites_write_reports_and_logs_to_the_shared_paths_with_their_names(tmp_path):
    result = run_suites(
        [
            {"name": "unit", "command": writes(junit(tests=1))},
            {"name": "e2e", "command": writes(junit(tests=1)), "report": str(tmp_path / "own.xml")},
        ],
        chdir=str(tmp_path),
        report=str(tmp_path / "reports" / "junit-{name}.xml"),
        log_file=str(tmp_path / "logs" / "test-{name}.log"),
    )
    assert [s["report"] for s in result["suites"]] == [
        str(tmp_path / "reports" / "junit-unit.xml"),
        str(tmp_path / "own.xml"),
    ]
    assert (tmp_path / "reports" / "junit-unit.xml").is_file() and (tmp_path / "own.xml").is_file()
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["test-e2e.log", "test-unit.log"]


@pytest.mark.parametrize("option", ["report", "log_file"])
def test_a_shared_path_without_the_name_is_refused(tmp_path, option):
    with pytest.raises(ConfigurationError, match=f"a shared {option} must contain '{{name}}'"):
        run_suites([{"name": "unit", "command": writes(junit(tests=1))}], chdir=str(tmp_path), **{option: "x.xml"})


def test_failing_suites_carry_every_stage(tmp_path):
    suites = [
        {"name": "good", "command": writes(junit(tests=2))},
        {"name": "bad", "command": writes(junit(tests=2, failures=1))},
    ]
    with pytest.raises(CommandError, match="1 of 2 suites failed") as failed:
        run_suites(suites, chdir=str(tmp_path))
    stages = failed.value.details["stages"]
    assert [(s["stage"], s["result"], s["details"]) for s in stages] == [
        ("test:good", "passed", "2/2 passed, 0 failed, 0 skipped"),
        ("test:bad", "failed", "1/2 passed, 1 failed, 0 skipped"),
    ]
    assert failed.value.details["counts"]["bad"]["failed"] == 1

    reported = run_suites(suites, chdir=str(tmp_path), fail_on_failure=False)
    assert [s["result"] for s in reported["stages"]] == ["passed", "failed"]


def test_bad_input_in_one_suite_fails_the_task_after_the_others_ran(tmp_path):
    suites = [
        {"name": "unit", "command": writes(junit(tests=1))},
        {"name": "elsewhere", "command": writes(junit(tests=1)), "chdir": str(tmp_path / "missing")},
        {"name": "noprog", "command": ["no-such-test-runner", "{junit_xml}"]},
    ]
    for fail_on_failure in (True, False):
        with pytest.raises(ConfigurationError, match="does not exist") as failed:
            run_suites(suites, chdir=str(tmp_path), fail_on_failure=fail_on_failure)
        assert [(s["stage"], s["result"]) for s in failed.value.details["stages"]] == [
            ("test:unit", "passed"),
            ("test:elsewhere", "failed"),
            ("test:noprog", "failed"),
        ]
    with pytest.raises(MissingDependencyError) as missing:
        run_suites([suites[0], suites[2]], chdir=str(tmp_path), fail_on_failure=False)
    assert [s["result"] for s in missing.value.details["stages"]] == ["passed", "failed"]


def test_suite_stage_and_counts_of_records():
    record = {
        "name": "it",
        "summary": {"tests": 5, "passed": 2, "failed": 1, "errors": 1, "skipped": 1, "duration": 2.0},
    }
    assert suite_stage("it", dict(record, duration=2.0, cache="miss")) == {
        "stage": "test:it",
        "result": "passed",
        "duration": 2.0,
        "details": "2/5 passed, 2 failed, 1 skipped",
    }
    assert suite_stage("it", dict(record, error="it: 2 of 5 tests failed"))["result"] == "failed"
    assert suite_counts([record, {"name": "none"}]) == {
        "it": {"tests": 5, "passed": 2, "failed": 1, "errors": 1, "skipped": 1}
    }
