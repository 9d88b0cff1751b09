"""lint, build and test_suite driven through real ansible-playbook runs on the sample app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from tests.support.paths import VENV_BIN, require_binary
from tests.support.playbook import ansible_env, run_tasks

PY = sys.executable


def one_line_failure(run, task):
    result = run.result(task)
    assert result.get("failed"), result
    assert "\n" not in result["msg"], result["msg"]
    assert "Traceback" not in run.output
    return result["msg"]


# --- lint ----------------------------------------------------------------------------


def test_lint_on_the_sample_app_finds_nothing_and_changes_nothing(app, tmp_path):
    require_binary("shellcheck")
    run = run_tasks(
        tmp_path,
        f"""
        - name: lint
          conveyor.cicd.lint:
            path: {app}
            tools: [{{name: ruff}}, {{name: ruff-format}}, {{name: yamllint}}, {{name: shellcheck}}]
    """,
    )
    result = run.result("lint")
    assert run.rc == 0, run.output
    assert result["changed"] is False
    assert result["findings"] == []
    assert set(result["summary"]["by_tool"]) == {"ruff", "ruff-format", "yamllint", "shellcheck"}


def test_lint_fix_in_check_mode_shows_the_diff_and_a_real_run_applies_it_once(app, tmp_path):
    messy = app / "src" / "sample_app" / "messy.py"
    messy.write_text("import os\nvalue=  {'a':1}\n")
    tasks = f"""
        - name: fix
          conveyor.cicd.lint:
            path: {app}
            fix: true
            tools: [{{name: ruff}}, {{name: ruff-format}}]
    """
    preview = run_tasks(tmp_path, tasks, check=True, diff=True)
    result = preview.result("fix")
    assert result["changed"] is True
    assert result["changed_files"] == ["src/sample_app/messy.py"]
    assert result["diff"][0]["after"] == 'value = {"a": 1}\n'
    assert messy.read_text() == "import os\nvalue=  {'a':1}\n"

    real = run_tasks(tmp_path, tasks, diff=True)
    assert real.rc == 0, real.output
    assert real.result("fix")["changed_files"] == ["src/sample_app/messy.py"]
    assert messy.read_text() == 'value = {"a": 1}\n'
    again = run_tasks(tmp_path, tasks)
    assert again.result("fix")["changed"] is False


def test_lint_findings_fail_the_task_with_one_line(app, tmp_path):
    (app / "src" / "sample_app" / "bad.py").write_text("import os\n")
    run = run_tasks(
        tmp_path,
        f"""
        - name: lint
          conveyor.cicd.lint:
            path: {app}
            tools: [{{name: ruff}}]
    """,
    )
    assert run.rc != 0
    msg = one_line_failure(run, "lint")
    assert "src/sample_app/bad.py:1 [ruff F401]" in msg
    assert run.result("lint")["findings"][0]["path"] == "src/sample_app/bad.py"
    stage = run.result("lint")["stage"]
    assert (stage["stage"], stage["result"], stage["details"]) == ("lint", "failed", "1 errors, 0 warnings (1 tools)")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("tools: [{name: eslint}]", "unknown lint tool 'eslint': supported tools are"),
        ("tools: [{name: ruff, executable: ruff-not-installed}]", "needs the 'ruff-not-installed' program"),
        ("tools: [{name: ruff, args: --fix}]", "'args' must be a list"),
        ("tools: [{name: ruff, colour: red}]", "unknown keys ['colour']"),
        ("tools: [{name: ruff}]\n            fail_on: sometimes", "fail_on"),
    ],
)
def test_lint_bad_input_is_one_clear_line(app, tmp_path, args, expected):
    run = run_tasks(
        tmp_path,
        f"""
        - name: lint
          conveyor.cicd.lint:
            path: {app}
            {args}
    """,
    )
    assert expected in one_line_failure(run, "lint")


def test_lint_missing_path(tmp_path):
    run = run_tasks(
        tmp_path,
        f"""
        - name: lint
          conveyor.cicd.lint:
            path: {tmp_path}/nowhere
            tools: [{{name: ruff}}]
    """,
    )
    assert "does not exist" in one_line_failure(run, "lint")


# --- build ---------------------------------------------------------------------------


def build_task(app, cache, steps=None, extra=""):
    steps = steps or f"[[{PY}, -m, build, --no-isolation, --wheel, --sdist, --outdir, dist]]"
    return f"""
        - name: build
          conveyor.cicd.build:
            chdir: {app}
            steps: {steps}
            inputs: ["src/**", pyproject.toml, README.md]
            outputs: ["dist/*"]
            clean_outputs: true
            cache_dir: {cache}
            log_file: {cache}/../build.log
            {extra}
    """


def test_build_makes_wheel_and_sdist_then_hits_the_cache(app, tmp_path):
    cache = tmp_path / "cache"
    first = run_tasks(tmp_path, build_task(app, cache))
    assert first.rc == 0, first.output
    result = first.result("build")
    assert result["changed"] is True and result["cache"] == "miss"
    names = sorted(os.path.basename(o["path"]) for o in result["outputs"])
    assert len(names) == 2 and {n.rsplit("-", 1)[-1].split(".", 1)[-1] for n in names} >= {"whl"}
    assert any(n.endswith(".tar.gz") for n in names) and any(n.endswith(".whl") for n in names)
    assert all(len(o["sha256"]) == 64 and o["size"] > 0 for o in result["outputs"])
    assert result["stage"]["result"] == "ok" and result["stage"]["details"].startswith("2 outputs, ")
    assert result["summary"] == {"cache_key": result["cache_key"], "outputs": result["outputs"]}
    assert result["output_paths"] == [f"{app}/{o['path']}" for o in result["outputs"]]

    check = run_tasks(tmp_path, build_task(app, cache), check=True)
    assert check.result("build")["changed"] is False and check.result("build")["cache"] == "hit"
    second = run_tasks(tmp_path, build_task(app, cache))
    hit = second.result("build")
    assert hit["changed"] is False and hit["cache"] == "hit" and hit["cache_key"] == result["cache_key"]
    assert hit["step_results"] == []
    assert hit["stage"]["result"] == "cached" and hit["summary"] == result["summary"]

    (app / "src" / "sample_app" / "__init__.py").write_text(
        (app / "src" / "sample_app" / "__init__.py").read_text() + "\n# changed\n"
    )
    third = run_tasks(tmp_path, build_task(app, cache))
    assert third.result("build")["cache"] == "miss"


def test_build_failure_names_the_step_and_shows_the_log_tail(app, tmp_path):
    steps = f"[{{name: compile, argv: [{PY}, -c, 'import sys; print(\"syntax error in foo.c\"); sys.exit(4)']}}]"
    run = run_tasks(tmp_path, build_task(app, tmp_path / "cache", steps=steps))
    msg = one_line_failure(run, "build")
    assert msg == "build step 1 'compile' failed with exit code 4: syntax error in foo.c"
    assert run.result("build")["log_tail"][-1] == "syntax error in foo.c"
    assert run.result("build")["stage"]["details"] == "0 outputs, 0 KiB - failed step: compile"
    assert run.result("build")["summary"] == {"cache_key": None, "outputs": []}


@pytest.mark.parametrize(
    ("steps", "extra", "expected"),
    [
        ('"python -m build"', "", "not a shell string: write ['python', '-m', 'build']"),
        ('["python -m build"]', "", "not a shell string"),
        ("[[sleep, '5']]", "timeout: 0.5", "timed out after 0.5 seconds"),
        ("[[no-such-compiler]]", "", "'no-such-compiler' was not found on PATH"),
        ("[['true']]", "timeout: soon", "timeout"),
    ],
)
def test_build_bad_input_is_one_clear_line(app, tmp_path, steps, extra, expected):
    run = run_tasks(tmp_path, build_task(app, tmp_path / "cache", steps=steps, extra=extra))
    assert expected in one_line_failure(run, "build")


def test_build_killed_midway_leaves_no_cache_entry(app, tmp_path):
    cache = tmp_path / "cache"
    marker = tmp_path / "started"
    steps = f"[[sh, -c, 'mkdir -p dist && echo x > dist/a.whl && touch {marker} && sleep 60']]"
    tasks = yaml.safe_load(build_task(app, cache, steps=steps).replace("\n        ", "\n"))
    playbook = tmp_path / "kill.yml"
    playbook.write_text(
        yaml.safe_dump(
            [{"name": "p", "hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]
        )
    )
    proc = subprocess.Popen(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)],
        env=ansible_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker.exists(), "the build step never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not list(cache.rglob(".entry.json")) if cache.exists() else True
    rerun = run_tasks(tmp_path, build_task(app, cache, steps="[[sh, -c, 'mkdir -p dist && echo x > dist/a.whl']]"))
    assert rerun.result("build")["cache"] == "miss"


# --- test_suite ----------------------------------------------------------------------


def suite_task(app, name, path, extra=""):
    return f"""
        - name: {name}
          conveyor.cicd.test_suite:
            name: {name}
            chdir: {app}
            command: [{PY}, -m, pytest, {path}, -q, -p, no:cacheprovider, "--junitxml={{junit_xml}}"]
            report: {app}/../reports/junit-{name}.xml
            {extra}
    """


def test_unit_suite_reports_counts_and_writes_a_merged_report(app, tmp_path):
    run = run_tasks(tmp_path, suite_task(app, "unit", "tests/unit"))
    assert run.rc == 0, run.output
    result = run.result("unit")
    assert result["tests"] > 10 and result["passed"] == result["tests"]
    assert result["failed_tests"] == 0 and result["summary"]["failed"] == 0
    root = ET.parse(result["report"]).getroot()
    assert root.tag == "testsuites" and root.get("tests") == str(result["tests"])


def test_passing_result_is_cached_and_second_run_changes_nothing(app, tmp_path):
    extra = f'inputs: ["src/**", "tests/**"]\n            cache_dir: {tmp_path}/cache'
    first = run_tasks(tmp_path, suite_task(app, "unit", "tests/unit", extra))
    assert first.result("unit")["cache"] == "miss" and first.result("unit")["changed"]
    second = run_tasks(tmp_path, suite_task(app, "unit", "tests/unit", extra))
    assert second.result("unit")["cache"] == "hit" and second.result("unit")["changed"] is False
    assert second.result("unit")["tests"] == first.result("unit")["tests"]


def test_integration_suite_runs_against_a_real_postgresql(app, tmp_path, postgres_server):
    db = postgres_server.create_database("sample_app_it")
    extra = f"env: {{SAMPLE_APP_TEST_POSTGRES_DSN: '{postgres_server.dsn(db)}', SAMPLE_APP_REQUIRE_POSTGRES: '1'}}"
    run = run_tasks(tmp_path, suite_task(app, "integration", "tests/integration", extra))
    assert run.rc == 0, run.output
    result = run.result("integration")
    assert result["skipped_tests"] == 0, "the PostgreSQL tests were skipped"
    assert result["passed"] == result["tests"] > 0
    names = ET.parse(result["report"]).getroot().iter("testcase")
    assert any("postgres" in (c.get("name", "") + c.get("classname", "")).lower() for c in names)


def test_failing_tests_fail_the_task_and_are_listed(app, tmp_path):
    (app / "tests" / "unit" / "test_broken.py").write_text(
        "def test_one():\n    assert 1 == 2, 'math is broken'\n\ndef test_two():\n    raise KeyError('x')\n"
    )
    run = run_tasks(tmp_path, suite_task(app, "unit", "tests/unit/test_broken.py"))
    msg = one_line_failure(run, "unit")
    assert msg.startswith("unit: 2 of 2 tests failed: ")
    assert "test_one (AssertionError: math is broken" in msg
    assert {f["name"] for f in run.result("unit")["failures"]} == {"test_one", "test_two"}


def test_failing_tests_are_reported_without_failing_when_asked(app, tmp_path):
    (app / "tests" / "unit" / "test_broken.py").write_text("def test_one():\n    assert False\n")
    run = run_tasks(tmp_path, suite_task(app, "unit", "tests/unit/test_broken.py", "fail_on_failure: false"))
    assert run.rc == 0, run.output
    result = run.result("unit")
    assert result["failed_tests"] == 1 and not result.get("failed")


@pytest.mark.parametrize(
    ("command", "extra", "expected"),
    [
        (
            "[sh, -c, 'echo \"<testsuite><testcase\" > report.xml']",
            "junit_files: [report.xml]",
            "report.xml' is not valid XML",
        ),
        ("[sh, -c, 'echo \"<html/>\" > report.xml']", "junit_files: [report.xml]", "is XML but not a JUnit report"),
        ("['true']", "junit_files: [missing.xml]", "'missing.xml' was not written by the test command"),
        ("[sh, -c, 'exit 3']", "junit_files: [missing.xml]", "failed with exit code 3 and wrote no JUnit report"),
        ("[sh, -c, 'sleep 10', '{junit_xml}']", "timeout: 0.5", "timed out after 0.5 seconds"),
        ("[pytest, tests]", "", "put '{junit_xml}' where the runner takes the report path"),
        ("pytest tests", "", "command"),
    ],
)
def test_suite_bad_input_is_one_clear_line(app, tmp_path, command, extra, expected):
    run = run_tasks(
        tmp_path,
        f"""
        - name: suite
          conveyor.cicd.test_suite:
            name: unit
            chdir: {app}
            command: {command}
            {extra}
    """,
    )
    assert expected in one_line_failure(run, "suite")


def test_suites_run_together_and_every_failing_suite_is_named(app, tmp_path):
    (app / "tests" / "unit" / "test_broken.py").write_text("def test_one():\n    assert 1 == 2\n")
    pytest_cmd = f"[{PY}, -m, pytest, -q, -p, no:cacheprovider, '--junitxml={{junit_xml}}'"
    run = run_tasks(
        tmp_path,
        f"""
        - name: suites
          conveyor.cicd.test_suite:
            chdir: {app}
            suites:
              - {{name: good, command: {pytest_cmd}, tests/unit/test_config.py], report: {tmp_path}/good.xml}}
              - {{name: bad, command: {pytest_cmd}, tests/unit/test_broken.py], report: {tmp_path}/bad.xml}}
              - {{name: e2e, command: {pytest_cmd}, tests/e2e], report: {tmp_path}/e2e.xml}}
    """,
    )
    msg = one_line_failure(run, "suites")
    assert msg.startswith("1 of 3 suites failed: bad: 1 of 1 tests failed")
    result = run.result("suites")
    by_name = {s["name"]: s for s in result["suites"]}
    assert by_name["good"]["failed_tests"] == 0 and by_name["good"]["tests"] > 0
    assert by_name["e2e"]["passed"] == by_name["e2e"]["tests"] > 0
    assert by_name["bad"]["failed_tests"] == 1
    assert result["tests"] == sum(s["tests"] for s in result["suites"])
    assert (tmp_path / "good.xml").is_file() and (tmp_path / "e2e.xml").is_file()
    assert [(s["stage"], s["result"]) for s in result["stages"]] == [
        ("test:good", "passed"),
        ("test:bad", "failed"),
        ("test:e2e", "passed"),
    ]
    assert result["counts"]["bad"]["failed"] == 1 and set(result["counts"]) == {"good", "bad", "e2e"}


def test_suites_one_after_another_write_to_the_shared_paths_with_their_names(app, tmp_path):
    pytest_cmd = f"[{PY}, -m, pytest, -q, -p, no:cacheprovider, '--junitxml={{junit_xml}}'"
    run = run_tasks(
        tmp_path,
        f"""
        - name: suites
          conveyor.cicd.test_suite:
            chdir: {app}
            max_parallel: 1
            report: "{tmp_path}/reports/junit-{{name}}.xml"
            log_file: "{tmp_path}/logs/test-{{name}}.log"
            suites:
              - {{name: config, command: {pytest_cmd}, tests/unit/test_config.py]}}
              - {{name: e2e, command: {pytest_cmd}, tests/e2e]}}
    """,
    )
    assert run.rc == 0, run.output
    result = run.result("suites")
    assert [s["report"] for s in result["suites"]] == [
        f"{tmp_path}/reports/junit-config.xml",
        f"{tmp_path}/reports/junit-e2e.xml",
    ]
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["test-config.log", "test-e2e.log"]
    assert [s["stage"] for s in result["stages"]] == ["test:config", "test:e2e"]
    assert result["counts"]["e2e"]["passed"] == result["counts"]["e2e"]["tests"] > 0
    assert "duration" not in result["counts"]["e2e"]


def test_suites_cache_hits_change_nothing(app, tmp_path):
    pytest_cmd = f"[{PY}, -m, pytest, -q, -p, no:cacheprovider, '--junitxml={{junit_xml}}'"
    tasks = f"""
        - name: suites
          conveyor.cicd.test_suite:
            chdir: {app}
            inputs: ["src/**", "tests/**"]
            cache_dir: {tmp_path}/cache
            suites:
              - {{name: unit, command: {pytest_cmd}, tests/unit], report: {tmp_path}/unit.xml}}
              - {{name: integration, command: {pytest_cmd}, tests/integration], report: {tmp_path}/it.xml}}
    """
    first = run_tasks(tmp_path, tasks)
    assert first.result("suites")["changed"] and first.result("suites")["cache"] == "miss"
    second = run_tasks(tmp_path, tasks)
    assert second.result("suites")["changed"] is False and second.result("suites")["cache"] == "hit"


def test_suites_and_command_are_mutually_exclusive(app, tmp_path):
    run = run_tasks(
        tmp_path,
        f"""
        - name: suites
          conveyor.cicd.test_suite:
            chdir: {app}
            name: unit
            command: [pytest]
            suites: [{{name: unit, command: [pytest]}}]
    """,
    )
    assert "mutually exclusive" in one_line_failure(run, "suites")
