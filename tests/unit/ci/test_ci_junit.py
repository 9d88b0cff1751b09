"""The JUnit reader on real pytest output and on hand-written edge cases."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._junit import (
    JUnitError,
    parse_file,
    parse_files,
    write_merged,
)

FIXTURES = Path(__file__).parent / "fixtures"

SAMPLE_TESTS = """
import pytest

def test_passes():
    assert 1 + 1 == 2

def test_fails():
    assert "a" == "b", "letters differ"

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_errors(broken):
    pass

@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n
"""


@pytest.fixture(scope="module")
def pytest_report(tmp_path_factory):
    """A report written by a real pytest run."""
    work = tmp_path_factory.mktemp("pytest-run")
    (work / "test_sample.py").write_text(SAMPLE_TESTS)
    report = work / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", str(work)],
        cwd=work,
        capture_output=True,
        check=False,
    )
    return report


def test_real_pytest_report_counts_every_outcome(pytest_report):
    summary = parse_file(str(pytest_report))
    assert (summary.tests, summary.passed, summary.failed, summary.errors, summary.skipped) == (7, 4, 1, 1, 1)
    names = {(f.name, f.kind) for f in summary.failures}
    assert names == {("test_fails", "failure"), ("test_errors", "error")}
    failing = next(f for f in summary.failures if f.name == "test_fails")
    assert "letters differ" in failing.message
    assert failing.classname == "test_sample"


def test_nested_testsuites_are_flattened():
    summary = parse_file(str(FIXTURES / "nested.xml"))
    assert (summary.tests, summary.passed, summary.failed, summary.errors, summary.skipped) == (5, 2, 1, 1, 1)
    assert summary.duration == pytest.approx(1.75)
    assert [f.suite for f in summary.failures] == ["api", "db"]


def test_several_files_add_up(pytest_report):
    summary = parse_files([str(pytest_report), str(FIXTURES / "nested.xml")])
    assert summary.tests == 12
    assert len(summary.files) == 2


def test_merged_report_is_valid_junit_with_totals(pytest_report, tmp_path):
    summary = parse_files([str(pytest_report), str(FIXTURES / "nested.xml")])
    merged = tmp_path / "merged.xml"
    write_merged(summary, str(merged), "unit")
    root = ET.parse(merged).getroot()
    assert root.tag == "testsuites"
    assert root.get("tests") == "12" and root.get("failures") == "2" and root.get("errors") == "2"
    assert len(root.findall("testsuite")) == 3
    again = parse_file(str(merged))
    assert (again.tests, again.failed, again.errors, again.skipped) == (12, 2, 2, 2)


def test_malformed_xml_names_the_file(tmp_path):
    bad = tmp_path / "broken.xml"
    bad.write_text("<testsuite><testcase name='x'>")
    with pytest.raises(JUnitError, match=r"broken\.xml' is not valid XML"):
        parse_file(str(bad))


def test_xml_that_is_not_junit_is_refused(tmp_path):
    other = tmp_path / "pom.xml"
    other.write_text("<project><version>1</version></project>")
    with pytest.raises(JUnitError, match=r"root element is <project>"):
        parse_file(str(other))


def test_missing_report_names_the_file(tmp_path):
    with pytest.raises(JUnitError, match=r"nothere\.xml' does not exist"):
        parse_file(str(tmp_path / "nothere.xml"))


def test_no_report_at_all_is_an_error():
    with pytest.raises(JUnitError, match="no JUnit report"):
        parse_files([])


def test_long_failure_messages_are_bounded(tmp_path):
    report = tmp_path / "long.xml"
    report.write_text(
        '<testsuite name="s"><testcase classname="c" name="t"><failure message="' + "x" * 5000 + '"/></testcase>'
        "</testsuite>"
    )
    summary = parse_file(str(report))
    assert len(summary.failures[0].message) == 500
