# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read JUnit XML (pytest and other runners), sum it up, and write one merged report."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_write_bytes
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError

MESSAGE_LIMIT = 500


class JUnitError(ConfigurationError):
    """A report file is missing or is not JUnit XML."""


@dataclass
class Failure:
    suite: str
    classname: str
    name: str
    kind: str  # failure or error
    message: str

    def as_dict(self) -> dict:
        return {
            "suite": self.suite,
            "classname": self.classname,
            "name": self.name,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass
class Summary:
    tests: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    duration: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    suites: list[ET.Element] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "tests": self.tests,
            "passed": self.passed,
            "failed": self.failed,
            "errors": self.errors,
            "skipped": self.skipped,
            "duration": round(self.duration, 3),
            "failures": [f.as_dict() for f in self.failures],
            "files": list(self.files),
        }


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _message(element: ET.Element) -> str:
    text = element.get("message") or (element.text or "").strip().splitlines()[0:1]
    if isinstance(text, list):
        text = text[0] if text else ""
    text = " ".join(str(text).split())
    return text[:MESSAGE_LIMIT]


def _iter_suites(element: ET.Element):
    """testsuite elements at any depth (testsuites may nest)."""
    if element.tag == "testsuite":
        yield element
    for child in element:
        if child.tag in ("testsuite", "testsuites"):
            yield from _iter_suites(child)


def parse_file(path: str, summary: Summary | None = None) -> Summary:
    summary = summary or Summary()
    if not os.path.isfile(path):
        raise JUnitError(f"JUnit report '{path}' does not exist: check that the test command writes it there")
    try:
        root = ET.parse(path).getroot()  # noqa: S314
    except ET.ParseError as exc:
        raise JUnitError(
            f"JUnit report '{path}' is not valid XML ({exc}): check the runner's --junitxml output"
        ) from exc
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(
            f"'{path}' is XML but not a JUnit report: its root element is <{root.tag}>, expected "
            "<testsuites> or <testsuite>"
        )
    summary.files.append(path)
    for suite in _iter_suites(root):
        suite_name = suite.get("name", "")
        suite_time = 0.0
        for case in suite.findall("testcase"):
            summary.tests += 1
            suite_time += _float(case.get("time"))
            outcome = "passed"
            for child in case:
                if child.tag == "failure":
                    outcome = "failed"
                elif child.tag == "error" and outcome != "failed":
                    outcome = "error"
                elif child.tag == "skipped" and outcome == "passed":
                    outcome = "skipped"
            if outcome == "passed":
                summary.passed += 1
            elif outcome == "skipped":
                summary.skipped += 1
            else:
                if outcome == "failed":
                    summary.failed += 1
                else:
                    summary.errors += 1
                detail = case.find("failure") if outcome == "failed" else case.find("error")
                summary.failures.append(
                    Failure(
                        suite_name,
                        case.get("classname", ""),
                        case.get("name", ""),
                        "failure" if outcome == "failed" else "error",
                        _message(detail),
                    )
                )
        summary.duration += _float(suite.get("time")) or suite_time
        summary.suites.append(suite)
    return summary


def parse_files(paths: list[str]) -> Summary:
    if not paths:
        raise JUnitError("no JUnit report was found: check junit_files and that the test command writes reports")
    summary = Summary()
    for path in paths:
        parse_file(path, summary)
    return summary


def write_merged(summary: Summary, path: str, name: str) -> None:
    """One <testsuites> document holding every suite, with totals recomputed."""
    root = ET.Element(
        "testsuites",
        {
            "name": name,
            "tests": str(summary.tests),
            "failures": str(summary.failed),
            "errors": str(summary.errors),
            "skipped": str(summary.skipped),
            "time": f"{summary.duration:.3f}",
        },
    )
    for suite in summary.suites:
        copy = ET.Element("testsuite", dict(suite.attrib))
        for child in suite:
            if child.tag != "testsuite":
                copy.append(child)
        root.append(copy)
    atomic_write_bytes(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))
