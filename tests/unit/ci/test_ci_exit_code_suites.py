"""test_suite with result_from=exit_code: real commands without JUnit output, reported, merged and cached."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._test_suite import run_suite, run_suites

CHECK = [sys.executable, "-c", "import sys; t = open('rules.txt').read(); print('checked', t); sys.exit(t != 'ok')"]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "rules.txt").write_text("ok")
    return tmp_path


def suite(project, **extra):
    return run_suite(
        name="rules",
        command=CHECK,
        chdir=str(project),
        result_from="exit_code",
        inputs=["rules.txt"],
        cache_dir=str(project / "cache"),
        **extra,
    )


def test_a_passing_command_is_one_passed_test_case_and_is_cached(project):
    first = suite(project)
    assert (first["tests"], first["passed"], first["failed_tests"], first["cache"]) == (1, 1, 0, "miss")
    assert first["exit_code"] == 0 and first["changed"] is True
    case = ET.parse(project / "junit-rules.xml").getroot().find(".//testcase")
    assert (case.get("classname"), case.get("name"), case.find("failure")) == ("rules", "rules", None)

    again = suite(project)
    assert (again["cache"], again["changed"], again["passed"]) == ("hit", False, 1)

    (project / "rules.txt").write_text("bad")  # an input changed: the command runs again, and now fails
    with pytest.raises(CommandError) as failed:
        suite(project)
    assert str(failed.value) == "rules: 1 of 1 tests failed: rules::rules (exit code 1: checked bad)"
    assert failed.value.details["log_tail"] == ["checked bad"]


def test_a_failing_command_is_reported_without_failing_the_task_when_asked(project):
    (project / "rules.txt").write_text("bad")
    result = suite(project, fail_on_failure=False)
    assert (result["tests"], result["passed"], result["failed_tests"], result["exit_code"]) == (1, 0, 1, 1)
    assert result["failures"][0]["message"] == "exit code 1: checked bad"
    failure = ET.parse(project / "junit-rules.xml").getroot().find(".//testcase/failure")
    assert failure is not None and "checked bad" in failure.text
    assert suite(project, fail_on_failure=False)["cache"] == "miss"  # a failure is never cached


def test_junit_options_with_exit_code_are_refused_in_one_line(project):
    with pytest.raises(ConfigurationError, match="with result_from: exit_code the command's exit code is the result"):
        run_suite(
            name="rules", command=["pytest", "--junitxml={junit_xml}"], chdir=str(project), result_from="exit_code"
        )
    with pytest.raises(ConfigurationError, match="leave out junit_files"):
        run_suite(name="rules", command=CHECK, chdir=str(project), junit_files=["*.xml"], result_from="exit_code")
    with pytest.raises(ConfigurationError, match="result_from must be junit or exit_code, got 'status'"):
        run_suite(name="rules", command=CHECK, chdir=str(project), result_from="status")


REPORT = (
    '<testsuite name="u" tests="2"><testcase classname="u" name="a"/><testcase classname="u" name="b"/></testsuite>'
)


def test_suites_mix_junit_and_exit_code_results(project):
    writes_junit = [
        sys.executable,
        "-c",
        "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
        "{junit_xml}",
        REPORT,
    ]
    both = run_suites(
        [{"name": "unit", "command": writes_junit}, {"name": "rules", "command": CHECK, "result_from": "exit_code"}],
        chdir=str(project),
    )
    assert (both["tests"], both["passed"]) == (3, 3)
    assert [s["tests"] for s in both["suites"]] == [2, 1]
