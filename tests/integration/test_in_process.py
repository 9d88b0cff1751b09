"""conveyor.cicd modules on a local connection run in the task's worker process, and behave as a module process.

Every test runs the same tasks twice through real ansible-playbook runs: once the default way (in
process on this machine) and once with ``conveyor_in_process: false`` (a normal module process), and
compares what a playbook can see.
"""

from __future__ import annotations

import sys

import pytest

from tests.support.playbook import run_tasks

PY = sys.executable
PROBE = """\
import os, sys
ok = os.environ.get("PROBE") == "yes"
failure = "" if ok else '<failure message="PROBE is not set"/>'
with open(sys.argv[1], "w") as out:
    out.write(f'<testsuite name="probe" tests="1" failures="{int(not ok)}">'
              f'<testcase classname="probe" name="env">{failure}</testcase></testsuite>')
sys.exit(0 if ok else 1)
"""
IN_PROCESS_LINE = "conveyor.cicd: conveyor.cicd.test_suite runs its engine in the controller"


def both_ways(tmp_path, tasks: str, args: tuple[str, ...] = (), **kwargs):
    """Run ``tasks`` in process and as a module process; return both runs."""
    runs = {}
    for in_process in (True, False):
        where = tmp_path / ("in" if in_process else "out")
        where.mkdir()
        runs[in_process] = run_tasks(
            where, tasks.format(where=where), args=args, extra_vars={"conveyor_in_process": in_process}, **kwargs
        )
    return runs[True], runs[False]


def test_results_are_the_same_both_ways_and_the_in_process_run_says_so(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    tasks = f"""
        - name: suite
          conveyor.cicd.test_suite:
            name: probe
            chdir: "{{where}}"
            command: ["{PY}", "{probe}", "{{{{junit_xml}}}}"]
          environment:
            PROBE: "yes"
        - name: no junit
          conveyor.cicd.test_suite:
            name: probe
            chdir: "{{where}}"
            command: ["{PY}", "-c", "raise SystemExit(3)"]
          ignore_errors: true
        """
    inside, outside = both_ways(tmp_path, tasks, ("-vvv",))
    assert inside.rc == 0 and outside.rc == 0, inside.output + outside.output
    assert IN_PROCESS_LINE in inside.output
    assert IN_PROCESS_LINE not in outside.output
    # the task's environment reaches the module both ways
    assert inside.result("suite")["exit_code"] == outside.result("suite")["exit_code"] == 0
    assert inside.result("suite")["failed_tests"] == outside.result("suite")["failed_tests"] == 0
    assert inside.result("suite")["changed"] is outside.result("suite")["changed"]
    # a failure is the same one line both ways, with no traceback
    for run in (inside, outside):
        failed = run.result("no junit")
        assert failed["failed"] is True
        assert "\n" not in failed["msg"]
        assert "Traceback" not in run.stdout
    assert inside.result("no junit")["msg"].replace(str(tmp_path / "in"), "") == outside.result("no junit")[
        "msg"
    ].replace(str(tmp_path / "out"), "")
    assert set(inside.result("suite")) == set(outside.result("suite"))


def test_check_mode_and_bad_arguments_behave_the_same_both_ways(tmp_path):
    tasks = """
        - name: release in check mode
          conveyor.cicd.release_info:
            repo: "{where}"
          check_mode: true
          ignore_errors: true
        - name: unknown option
          conveyor.cicd.release_info:
            repo: "{where}"
            no_such_option: 1
          ignore_errors: true
        - name: wrong type
          conveyor.cicd.lint:
            path: "{where}"
            tools: [{{name: ruff}}]
            fail_on: sometimes
          ignore_errors: true
        """
    inside, outside = both_ways(tmp_path, tasks)
    for name in ("release in check mode", "unknown option", "wrong type"):
        a, b = inside.result(name), outside.result(name)
        assert a.get("failed") == b.get("failed"), (name, a, b)
        assert a.get("msg", "").replace(str(tmp_path / "in"), "") == b.get("msg", "").replace(
            str(tmp_path / "out"), ""
        ), (name, a, b)
    assert "no_such_option" in inside.result("unknown option")["msg"]
    assert "sometimes" in inside.result("wrong type")["msg"]


def run_probe(tmp_path, task_keys: dict | None = None, **kwargs):
    """One test_suite task running the probe (its environment sets PROBE), with ``task_keys`` such as delegate_to."""
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    suite = {"name": "probe", "chdir": str(tmp_path), "command": [PY, str(probe), "{junit_xml}"]}
    task = {"conveyor.cicd.test_suite": suite, "environment": {"PROBE": "yes"}, **(task_keys or {})}
    return run_tasks(tmp_path, [task], **kwargs)


@pytest.mark.parametrize("value", ["false", "no"])
def test_conveyor_in_process_false_runs_a_module_process(tmp_path, value):
    run = run_probe(tmp_path, args=("-vvvv",), extra_vars={"conveyor_in_process": value})
    assert run.rc == 0, run.output
    assert IN_PROCESS_LINE not in run.output
    assert "runs as a module (conveyor_in_process is false)" in run.output


def test_a_task_delegated_to_its_own_host_still_runs_in_the_controller(tmp_path):
    run = run_probe(tmp_path, {"delegate_to": "localhost"}, args=("-vvv",))
    assert run.rc == 0, run.output
    assert IN_PROCESS_LINE in run.output
