# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test_suite engine: run one suite, read its JUnit XML, merge, cache passing results.

A suite whose tool writes no JUnit XML (``result_from="exit_code"``: a rule checker, a shell test script)
counts as one test case named after the suite, passed when the command exits with 0; the module writes
that case as JUnit XML itself, so it is reported, merged and cached like any other suite.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.conveyor.cicd.plugins.module_utils import _process
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_copy
from ansible_collections.conveyor.cicd.plugins.module_utils._cache import ResultCache, cache_key, inputs_digest
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import sha256_file
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    ConveyorError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._junit import JUnitError, parse_files, write_merged

PLACEHOLDER = "{junit_xml}"
NAME_PLACEHOLDER = "{name}"
LISTED_FAILURES = 20
COUNTS = ("tests", "passed", "failed", "errors", "skipped")
RESULT_FROM = ("junit", "exit_code")


def _write_exit_code_report(path: str, name: str, proc) -> None:
    """One JUnit test case for a command without a report of its own: its exit code is the result."""
    suite = ET.Element("testsuite", name=name, tests="1", failures="0" if proc.ok else "1", errors="0")
    case = ET.SubElement(suite, "testcase", classname=name, name=name, time=f"{proc.duration:.3f}")
    if not proc.ok:
        last = next((line.strip() for line in reversed(proc.tail) if line.strip()), "(no output)")
        failure = ET.SubElement(case, "failure", message=f"exit code {proc.rc}: {last}"[:500])
        failure.text = "\n".join(proc.tail)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _expand_reports(chdir: str, patterns: list[str], started_wall: float) -> list[str]:
    found = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else os.path.join(chdir, pattern)
        matched = sorted(glob.glob(full, recursive=True))
        if not matched:
            raise JUnitError(f"JUnit report '{pattern}' was not written by the test command: check its --junitxml path")
        for path in matched:
            if os.path.getmtime(path) + 1 < started_wall:
                raise JUnitError(f"JUnit report '{path}' is older than this run: the test command did not rewrite it")
            found.append(path)
    return found


def _failure_message(name: str, summary: dict) -> str:
    bad = summary["failed"] + summary["errors"]
    listed = summary["failures"][:LISTED_FAILURES]
    items = "; ".join(
        f"{f['classname']}::{f['name']}" + (f" ({f['message'][:120]})" if f["message"] else "") for f in listed
    )
    more = f"; and {bad - len(listed)} more" if bad > len(listed) else ""
    return f"{name}: {bad} of {summary['tests']} tests failed: {items}{more}"


def _shape(result: dict) -> dict:
    """Ansible reads the result keys ``failed`` and ``skipped`` as the task's own status, so those counts are
    returned as ``failed_tests`` and ``skipped_tests`` and, with every other count, in ``summary``."""
    out = dict(result)
    out["failed_tests"] = out.pop("failed", 0)
    out["skipped_tests"] = out.pop("skipped", 0)
    out["summary"] = {k: result.get(k, 0) for k in COUNTS}
    out["summary"]["duration"] = result.get("duration", 0.0)
    return out


def _write_report_if_changed(src: str, report: str) -> bool:
    if os.path.isfile(report) and sha256_file(report) == sha256_file(src):
        return False
    atomic_copy(src, report)
    return True


def suite_stage(name: str, result: dict, failed: bool = False) -> dict:
    """The CI stage record of one suite's result (or of a failure's details): result, duration, counts in one line."""
    counts = result.get("summary") or {}
    bad = counts.get("failed", 0) + counts.get("errors", 0)
    failed = failed or "error" in result  # a suite of a suites run that failed carries its error
    return {
        "stage": f"test:{name}",
        "result": "failed" if failed else ("cached" if result.get("cache") == "hit" else "passed"),
        "duration": float(result.get("duration") or 0),
        "details": f"{counts.get('passed', 0)}/{counts.get('tests', 0)} passed, {bad} failed, "
        f"{counts.get('skipped', 0)} skipped",
    }


def suite_counts(results: list[dict]) -> dict:
    """Suite name -> its counts without the duration (what the release manifest keeps), for the suites with counts."""
    return {
        str(r["name"]): {k: v for k, v in r["summary"].items() if k != "duration"}
        for r in results
        if isinstance(r.get("summary"), dict)
    }


def run_suite(name: str, *args, **kwargs) -> dict:
    """``suite_result(name, *args, **kwargs)``, whose result, and a failure's details, carry the CI ``stage`` record
    and the ``counts`` of the suite."""
    try:
        result = suite_result(name, *args, **kwargs)
    except ConveyorError as exc:
        exc.details["stage"] = suite_stage(name, exc.details, failed=True)
        exc.details["counts"] = suite_counts([dict(exc.details, name=name)])
        raise
    result["stage"] = suite_stage(name, result)
    result["counts"] = suite_counts([dict(result, name=name)])
    return result


def suite_result(
    name: str,
    command,
    chdir: str,
    report: str | None = None,
    junit_files=None,
    env: dict | None = None,
    timeout: float | None = None,
    log_file: str | None = None,
    fail_on_failure: bool = True,
    allow_empty: bool = False,
    inputs=None,
    cache_dir: str | None = None,
    check_mode: bool = False,
    result_from: str = "junit",
    inputs_from: str = "tree",
) -> dict:
    if not name or "/" in name:
        raise ConfigurationError(f"name must be a short suite name such as 'unit', got {name!r}")
    if not os.path.isdir(chdir):
        raise ConfigurationError(f"chdir '{chdir}' does not exist or is not a directory")
    if timeout is not None and timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout}")
    argv = _process.validate_argv(command, "command")
    junit_files = list(junit_files or [])
    if result_from not in RESULT_FROM:
        raise ConfigurationError(f"{name}: result_from must be junit or exit_code, got {result_from!r}")
    from_exit_code = result_from == "exit_code"
    if from_exit_code and (junit_files or PLACEHOLDER in " ".join(argv)):
        raise ConfigurationError(
            f"{name}: with result_from: exit_code the command's exit code is the result; "
            f"leave out junit_files and '{PLACEHOLDER}', or use result_from: junit"
        )
    if not from_exit_code and PLACEHOLDER not in " ".join(argv) and not junit_files:
        raise ConfigurationError(
            f"the command must write JUnit XML: put '{PLACEHOLDER}' where the runner takes the report path "
            f"(pytest: --junitxml={PLACEHOLDER}) or list the files it writes in junit_files"
        )
    env = {str(k): str(v) for k, v in (env or {}).items()}
    report = report or os.path.join(chdir, f"junit-{name}.xml")
    started = time.monotonic()

    key = cache = None
    if cache_dir and inputs:
        # the files the module writes itself (report, log, cache) are never inputs
        digest, _count = inputs_digest(chdir, inputs, source=inputs_from, skip=[report, log_file, cache_dir])
        key = cache_key(
            "test_suite",
            name=name,
            command=argv,
            env=env,
            inputs=digest,
            junit_files=junit_files,
            **({"result_from": result_from} if from_exit_code else {}),
        )
        cache = ResultCache(cache_dir, "test_suite")
        record = cache.get(key)
        if record and os.path.isfile(record.get("report_copy", "")):
            changed = not (os.path.isfile(report) and sha256_file(report) == sha256_file(record["report_copy"]))
            if changed and not check_mode:
                _write_report_if_changed(record["report_copy"], report)
            return _shape(
                dict(
                    record["summary"],
                    changed=changed,
                    cache="hit",
                    cache_key=key,
                    report=report,
                    exit_code=0,
                    duration=round(time.monotonic() - started, 3),
                    name=name,
                )
            )
    if check_mode:
        return _shape(
            {
                "name": name,
                "changed": True,
                "cache": "miss" if cache else "disabled",
                "cache_key": key,
                "report": report,
                "tests": 0,
                "passed": 0,
                "failed": 0,
                "errors": 0,
                "skipped": 0,
                "duration": 0.0,
                "failures": [],
                "files": [],
                "exit_code": None,
            }
        )

    workdir = tempfile.mkdtemp(prefix=f"conveyor-{name}-")
    try:
        raw = os.path.join(workdir, f"{name}.xml")
        argv = [a.replace(PLACEHOLDER, raw) for a in argv]
        wall = time.time()
        proc = _process.run(argv, cwd=chdir, env=env, timeout=timeout, log_file=log_file)
        if proc.timed_out:
            raise CommandError(
                f"{name}: the test command timed out after {timeout} seconds and was killed", log_tail=proc.tail
            )
        if from_exit_code:
            _write_exit_code_report(raw, name, proc)
        patterns = ([raw] if from_exit_code or PLACEHOLDER in " ".join(command) else []) + junit_files
        try:
            paths = _expand_reports(chdir, patterns, wall)
        except JUnitError as exc:
            if proc.rc != 0:
                last = proc.tail[-1] if proc.tail else "(no output)"
                raise CommandError(
                    f"{name}: the test command failed with exit code {proc.rc} and wrote no JUnit report: {last}",
                    exit_code=proc.rc,
                    log_tail=proc.tail,
                ) from exc
            raise
        parsed = parse_files(paths)
        summary = parsed.as_dict()
        merged = os.path.join(workdir, "merged.xml")
        write_merged(parsed, merged, name)
        changed = _write_report_if_changed(merged, report)
        result = dict(
            summary,
            name=name,
            changed=changed,
            cache="miss" if cache else "disabled",
            cache_key=key,
            report=report,
            exit_code=proc.rc,
            duration=round(time.monotonic() - started, 3),
        )
        result["files"] = [
            os.path.relpath(p, chdir) if not p.startswith(workdir) else os.path.basename(report)
            for p in summary["files"]
        ]
        bad = summary["failed"] + summary["errors"]
        if bad and fail_on_failure:
            raise CommandError(
                _failure_message(name, summary),
                **_shape({k: result[k] for k in (*COUNTS, "failures", "report", "exit_code", "duration")}),
                **({"log_tail": proc.tail} if from_exit_code else {}),
            )
        if summary["tests"] == 0 and not allow_empty:
            raise CommandError(
                f"{name}: no tests ran (exit code {proc.rc}): check the command and its test paths",
                exit_code=proc.rc,
                log_tail=proc.tail,
            )
        if proc.rc != 0 and not bad:
            last = proc.tail[-1] if proc.tail else "(no output)"
            raise CommandError(
                f"{name}: the test command exited with code {proc.rc} although its report shows no failure: {last}",
                exit_code=proc.rc,
                log_tail=proc.tail,
                report=report,
            )
        if cache is not None and not bad:
            copy = cache.path(key)[: -len(".json")] + ".xml"
            atomic_copy(merged, copy)
            cache.put(key, {"summary": {k: result[k] for k in (*COUNTS, "failures", "files")}, "report_copy": copy})
        return _shape(result)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


SUITE_KEYS = {
    "name",
    "command",
    "chdir",
    "report",
    "junit_files",
    "env",
    "timeout",
    "log_file",
    "inputs",
    "allow_empty",
    "result_from",
}


def run_suites(
    suites,
    chdir: str,
    report: str | None = None,
    log_file: str | None = None,
    env: dict | None = None,
    timeout: float | None = None,
    fail_on_failure: bool = True,
    allow_empty: bool = False,
    inputs=None,
    cache_dir: str | None = None,
    max_parallel: int | None = None,
    check_mode: bool = False,
    result_from: str = "junit",
    inputs_from: str = "tree",
) -> dict:
    """Run several suites at the same time, each as suite_result does, and sum them up.

    Every suite runs to its end even when another fails; the failure message then names each failing
    suite. Suite entries override the shared chdir, env (merged), timeout, inputs and allow_empty; the shared
    report and log_file are paths with ``{name}``, replaced by each suite's name.

    The result, and a failure's details once the suites ran, carry one CI stage record per suite (``stages``)
    and the counts of each suite (``counts``)."""
    if not isinstance(suites, list) or not suites:
        raise ConfigurationError("suites must be a non-empty list of {name, command} dicts")
    names = []
    for index, suite in enumerate(suites, start=1):
        if not isinstance(suite, dict) or "name" not in suite or "command" not in suite:
            raise ConfigurationError(f"suite {index} must be a dict with at least 'name' and 'command'")
        unknown = sorted(set(suite) - SUITE_KEYS)
        if unknown:
            raise ConfigurationError(
                f"suite {suite['name']!r} has unknown keys {unknown}: allowed are {', '.join(sorted(SUITE_KEYS))}"
            )
        names.append(str(suite["name"]))
    if len(set(names)) != len(names):
        raise ConfigurationError(f"suite names must be unique, got {names}")
    for option, template in (("report", report), ("log_file", log_file)):
        if template and NAME_PLACEHOLDER not in template:
            raise ConfigurationError(
                f"with suites, a shared {option} must contain '{NAME_PLACEHOLDER}' (each suite writes its own file), "
                f"got {template!r}; or give {option} inside each suite"
            )
    workers = max(1, min(len(suites), max_parallel or os.cpu_count() or 1))

    def own(suite: dict, key: str, shared):
        """The suite's own value, else the shared one (the module's spec gives every key, None when left out)."""
        value = suite.get(key)
        return shared if value is None else value

    def shared_path(suite: dict, key: str, template: str | None):
        """The suite's own path, else the shared one with the suite's name in it."""
        return suite.get(key) or (template.replace(NAME_PLACEHOLDER, str(suite["name"])) if template else None)

    # suite name -> its error that is not a failing or failed test command (bad input, a missing program)
    input_errors = {}

    def one(suite: dict) -> dict:
        merged_env = dict(env or {})
        merged_env.update(suite.get("env") or {})
        try:
            return suite_result(
                name=str(suite["name"]),
                command=suite["command"],
                chdir=suite.get("chdir") or chdir,
                report=shared_path(suite, "report", report),
                junit_files=suite.get("junit_files"),
                env=merged_env,
                timeout=own(suite, "timeout", timeout),
                log_file=shared_path(suite, "log_file", log_file),
                fail_on_failure=True,
                allow_empty=own(suite, "allow_empty", allow_empty),
                inputs=own(suite, "inputs", inputs),
                cache_dir=cache_dir,
                check_mode=check_mode,
                result_from=own(suite, "result_from", result_from),
                inputs_from=inputs_from,
            )
        except ConveyorError as exc:
            if not isinstance(exc, CommandError):
                input_errors[str(suite["name"])] = exc
            failed = _shape({k: exc.details.get(k, 0) for k in COUNTS})
            failed.update({k: v for k, v in exc.details.items() if k not in COUNTS})
            failed.update(name=str(suite["name"]), error=exc.msg, changed=True)
            return failed

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, suites))
    totals = {k: sum(r["summary"].get(k, 0) for r in results) for k in COUNTS}
    caches = {r.get("cache") for r in results}
    out = _shape(dict(totals))
    out.update(
        suites=results,
        changed=any(r.get("changed") for r in results),
        cache=caches.pop() if len(caches) == 1 else "mixed",
        failures=[dict(f, suite_name=r["name"]) for r in results for f in r.get("failures", [])],
        stages=[suite_stage(r["name"], r) for r in results],
        counts=suite_counts(results),
    )
    if input_errors:
        # fails the task whatever fail_on_failure says, with the first such error in the order of the suites
        first = next(input_errors[r["name"]] for r in results if r["name"] in input_errors)
        first.details = out
        raise first
    errors = [r["error"] for r in results if r.get("error")]
    if errors and fail_on_failure:
        raise CommandError(f"{len(errors)} of {len(results)} suites failed: " + " | ".join(errors), **out)
    return out
