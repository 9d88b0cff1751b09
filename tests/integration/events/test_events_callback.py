"""The pipeline_events callback in real ansible-playbook and ansible-runner runs."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.paths import COLLECTIONS, ROOT, VENV_BIN
from tests.support.playbook import ansible_env, run_playbook

pytestmark = pytest.mark.integration

PROBES = ROOT / "tests" / "support" / "modules"
NO_LOG_SECRET = "nolog-Hunter2-secret"
DSN_PASSWORD = "dsnPassw0rd99"
RESULT_PASSWORD = "resultPw-4711"
SECRETS = (NO_LOG_SECRET, DSN_PASSWORD, RESULT_PASSWORD)

PIPELINE = [
    {
        "name": "Build stage",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [
            {"name": "Compile", "ansible.builtin.command": "true", "changed_when": True},
            {
                "name": "Run the unit tests",
                "conveyor_event_probe": {
                    "result": {
                        "tests": 12,
                        "passed": 10,
                        "failed_tests": 1,
                        "errors": 0,
                        "skipped_tests": 1,
                        "name": "unit",
                        "duration": 1.5,
                    }
                },
            },
            {
                "name": "Use a secret",
                "no_log": True,
                "ignore_errors": True,
                "ansible.builtin.fail": {"msg": f"token {NO_LOG_SECRET} rejected"},
            },
            {
                "name": "Connect to the database",
                "ignore_errors": True,
                "ansible.builtin.fail": {"msg": f"cannot reach postgresql://app:{DSN_PASSWORD}@db.internal/app"},
            },
        ],
    },
    {
        "name": "Deploy production",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Roll out",
                "conveyor_event_probe": {
                    "changed": True,
                    "result": {
                        "conveyor_deploy": {
                            "environment": "production",
                            "version": "1.4.0",
                            "commit": "0123456789abcdef",
                            "commit_time": "2024-05-01T10:00:00Z",
                        },
                        "release_id": "20240501T100500Z",
                        "previous_release": "20240430T090000Z",
                        "current_release": "20240501T100500Z",
                        "rolled_back": False,
                        "login_password": RESULT_PASSWORD,
                    },
                },
            },
            {
                "name": "Roll back staging",
                "conveyor_event_probe": {
                    "changed": True,
                    "result": {
                        "conveyor_deploy": {"environment": "staging", "version": "1.3.0", "action": "rollback"},
                        "rolled_back": True,
                    },
                },
            },
            {
                "name": "Roll out the canary",
                "ignore_errors": True,
                "conveyor_event_probe": {
                    "fail": True,
                    "msg": f"health check failed; restored the previous release (password {RESULT_PASSWORD})",
                    "result": {
                        "conveyor_deploy": {"environment": "canary", "version": "1.4.0"},
                        "rolled_back": True,
                        "password": RESULT_PASSWORD,
                    },
                },
            },
        ],
    },
]


def write_playbook(tmp_path: Path, plays=None, name: str = "pipeline.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(plays or PIPELINE, sort_keys=False))
    return path


def events_env(tmp_path: Path, **extra) -> dict:
    env = {
        "ANSIBLE_CALLBACKS_ENABLED": "conveyor.cicd.pipeline_events",
        "ANSIBLE_LIBRARY": str(PROBES),
        "CONVEYOR_EVENTS_DB": str(tmp_path / "state" / "events.db"),
        "CONVEYOR_EVENTS_JSONL": str(tmp_path / "state" / "events.jsonl"),
        "CONVEYOR_EVENTS_TEST_ACTIONS": "conveyor.cicd.test_suite,conveyor_event_probe",
    }
    env.update(extra)
    return env


def query(db: Path, sql: str) -> list[dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql)]
    finally:
        connection.close()


def test_run_stages_deployments_failures_and_tests_are_recorded_without_secrets(tmp_path):
    run = run_playbook(write_playbook(tmp_path), inventory="localhost,", env=events_env(tmp_path), extra_vars={})
    assert run.rc == 0, run.output
    db = tmp_path / "state" / "events.db"

    [row] = query(db, "SELECT * FROM runs")
    assert row["playbook"] == "pipeline.yml"
    assert row["status"] == "success"
    assert row["ended"] >= row["started"]
    assert json.loads(row["hosts"]) == ["localhost"]
    assert row["changed"] == 3

    stages = query(db, "SELECT * FROM stages ORDER BY seq")
    assert [(s["seq"], s["name"], s["status"]) for s in stages] == [
        (1, "Build stage", "success"),
        (2, "Deploy production", "success"),
    ]
    assert stages[0]["changed"] == 1
    assert stages[1]["started"] >= stages[0]["ended"]
    assert query(db, "SELECT host, ok, changed, failed FROM stage_hosts WHERE stage_id = 1") == [
        {"host": "localhost", "ok": 4, "changed": 1, "failed": 0}
    ]

    deployments = query(db, "SELECT * FROM deployments ORDER BY id")
    assert [(d["environment"], d["kind"], d["status"], d["version"], d["rolled_back"]) for d in deployments] == [
        ("production", "deploy", "success", "1.4.0", 0),
        ("staging", "rollback", "success", "1.3.0", 0),
        ("canary", "deploy", "rolled_back", "1.4.0", 1),
    ]
    assert deployments[0]["commit_sha"] == "0123456789abcdef"
    assert deployments[0]["commit_time"] == 1714557600.0
    assert deployments[0]["release_id"] == "20240501T100500Z"
    assert deployments[0]["previous_release"] == "20240430T090000Z"

    [tests] = query(db, "SELECT * FROM test_results")
    assert (tests["suite"], tests["tests"], tests["passed"], tests["failed"], tests["skipped"]) == (
        "unit",
        12,
        10,
        1,
        1,
    )

    failures = query(db, "SELECT task, message, ignored FROM failures ORDER BY id")
    assert failures[0] == {"task": "Use a secret", "message": "output hidden (no_log)", "ignored": 1}
    assert failures[1]["message"] == "cannot reach postgresql://app:***@db.internal/app"
    assert failures[2]["task"] == "Roll out the canary"
    assert "health check failed" in failures[2]["message"]

    # the summary table is printed beside the stdout callback's output
    assert "PIPELINE EVENTS  pipeline.yml  success" in run.stdout
    assert "Deploy production" in run.stdout.split("PIPELINE EVENTS", 1)[1]

    # no secret anywhere: the store file, the JSON-lines file, the printed table
    jsonl = (tmp_path / "state" / "events.jsonl").read_text()
    events = [json.loads(line)["event"] for line in jsonl.splitlines()]
    assert events[0] == "run_start" and events[-1] == "run_end"
    assert {"stage_end", "deployment", "failure", "tests"} <= set(events)
    table = run.stdout.split("PIPELINE EVENTS", 1)[1]
    for secret in SECRETS:
        assert secret.encode() not in db.read_bytes(), secret
        assert secret not in jsonl, secret
        assert secret not in table, secret


def test_a_failed_play_makes_a_failed_stage_and_run(tmp_path):
    plays = [
        {
            "name": "Checks",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Handled failure",
                    "block": [{"name": "Try", "ansible.builtin.fail": {"msg": "first try"}}],
                    "rescue": [{"name": "Recover", "ansible.builtin.debug": {"msg": "recovered"}}],
                },
                {"name": "Break", "ansible.builtin.fail": {"msg": "broken for good"}},
            ],
        },
        {"name": "Never reached", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": []},
    ]
    run = run_playbook(write_playbook(tmp_path, plays), inventory="localhost,", env=events_env(tmp_path))
    assert run.rc == 2
    db = tmp_path / "state" / "events.db"
    assert query(db, "SELECT status, failed FROM runs") == [{"status": "failed", "failed": 1}]
    assert query(db, "SELECT name, status, failed FROM stages") == [{"name": "Checks", "status": "failed", "failed": 1}]
    failures = query(db, "SELECT task, message FROM failures ORDER BY id")
    assert [f["message"] for f in failures] == ["first try", "broken for good"]


def test_check_mode_runs_record_no_deployments(tmp_path):
    run = run_playbook(write_playbook(tmp_path), "--check", inventory="localhost,", env=events_env(tmp_path))
    assert run.rc == 0, run.output
    db = tmp_path / "state" / "events.db"
    assert query(db, "SELECT check_mode FROM runs") == [{"check_mode": 1}]
    assert query(db, "SELECT COUNT(*) AS n FROM deployments") == [{"n": 0}]
    assert "check mode: deployments not recorded" in run.stdout


def test_store_defaults_to_the_inventory_state_dir(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {"localhost": {"ansible_connection": "local"}},
                    "vars": {"conveyor_base": str(tmp_path), "conveyor_state_dir": "{{ conveyor_base }}/custom-state"},
                }
            }
        )
    )
    # templated hosts, as in the pipeline's playbooks
    plays = [
        {
            "name": "One",
            "hosts": "{{ targets | default('all') }}",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.ping": {}}],
        }
    ]
    env = events_env(tmp_path)
    del env["CONVEYOR_EVENTS_DB"]
    run = run_playbook(write_playbook(tmp_path, plays), inventory=str(inventory), env=env)
    assert run.rc == 0, run.output
    assert query(tmp_path / "custom-state" / "events.db", "SELECT status FROM runs") == [{"status": "success"}]


def test_unwritable_store_warns_and_the_run_still_succeeds(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    env = events_env(tmp_path, CONVEYOR_EVENTS_DB=str(blocker / "events.db"))
    plays = [
        {
            "name": "One",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.ping": {}}],
        }
    ]
    run = run_playbook(write_playbook(tmp_path, plays), inventory="localhost,", env=env)
    assert run.rc == 0, run.output
    assert "pipeline_events: not recording events" in run.output
    assert "Traceback" not in run.output


def test_callback_records_under_ansible_runner(tmp_path, monkeypatch):
    ansible_runner = pytest.importorskip("ansible_runner")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    private = tmp_path / "runner"
    (private / "project").mkdir(parents=True)
    (private / "inventory").mkdir()
    (private / "env").mkdir()
    write_playbook(private / "project", name="site.yml")
    (private / "inventory" / "hosts").write_text(
        textwrap.dedent(f"""\
            localhost ansible_connection=local ansible_python_interpreter={VENV_BIN / "python"}
            """)
    )
    envvars = events_env(tmp_path, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1")
    result = ansible_runner.run(private_data_dir=str(private), playbook="site.yml", envvars=envvars, quiet=True)
    assert result.rc == 0, result.stdout.read()
    db = tmp_path / "state" / "events.db"
    assert query(db, "SELECT playbook, status FROM runs") == [{"playbook": "site.yml", "status": "success"}]
    assert [s["name"] for s in query(db, "SELECT name FROM stages ORDER BY seq")] == [
        "Build stage",
        "Deploy production",
    ]
    assert len(query(db, "SELECT id FROM deployments")) == 3
    # ansible-runner replaced the stdout callback; the summary still reaches the job's stdout
    stdout = (private / "artifacts" / result.config.ident / "stdout").read_text()
    assert "PIPELINE EVENTS  site.yml  success" in stdout
    table = stdout.split("PIPELINE EVENTS", 1)[1]  # before it: Ansible's own task output
    for secret in SECRETS:
        assert secret.encode() not in db.read_bytes()
        assert secret not in table


def test_stage_durations_and_results_reach_the_pushgateway(tmp_path, pushgateway):
    env = events_env(tmp_path, CONVEYOR_EVENTS_PUSHGATEWAY_URL=pushgateway, CONVEYOR_EVENTS_PUSHGATEWAY_JOB="ci")
    run = run_playbook(write_playbook(tmp_path), inventory="localhost,", env=env)
    assert run.rc == 0, run.output
    assert "Pushgateway push failed" not in run.output
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    samples = [line for line in metrics.splitlines() if line.startswith("conveyor_")]
    durations = [s for s in samples if s.startswith("conveyor_stage_duration_seconds{")]
    assert any('stage="Build stage"' in s and 'job="ci"' in s and 'playbook="pipeline.yml"' in s for s in durations)
    assert any('stage="Deploy production"' in s for s in durations)
    assert any(
        s.startswith("conveyor_stage_success{") and 'stage="Build stage"' in s and s.endswith(" 1") for s in samples
    )
    assert any(s.startswith("conveyor_pipeline_success{") and s.endswith(" 1") for s in samples)
    for secret in SECRETS:
        assert secret not in metrics


def test_unreachable_pushgateway_only_warns(tmp_path):
    from tests.support.servers import free_port

    env = events_env(tmp_path, CONVEYOR_EVENTS_PUSHGATEWAY_URL=f"http://127.0.0.1:{free_port()}")
    plays = [
        {
            "name": "One",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [{"ansible.builtin.ping": {}}],
        }
    ]
    run = run_playbook(write_playbook(tmp_path, plays), inventory="localhost,", env=env)
    assert run.rc == 0, run.output
    assert run.output.count("Pushgateway push failed") == 1
    assert query(tmp_path / "state" / "events.db", "SELECT status FROM runs") == [{"status": "success"}]


def test_parallel_suites_are_recorded_one_row_per_suite(tmp_path):
    suites = [
        {"name": "unit", "tests": 5, "passed": 5, "failed_tests": 0, "errors": 0, "skipped_tests": 0, "duration": 0.5},
        {"name": "e2e", "tests": 3, "passed": 2, "failed_tests": 1, "errors": 0, "skipped_tests": 0, "duration": 2.0},
    ]
    plays = [
        {
            "name": "Test stage",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Run test suites in parallel",
                    "conveyor_event_probe": {"result": {"suites": suites, "tests": 8, "passed": 7}},
                }
            ],
        }
    ]
    run = run_playbook(write_playbook(tmp_path, plays), inventory="localhost,", env=events_env(tmp_path), extra_vars={})
    assert run.rc == 0, run.output
    rows = query(tmp_path / "state" / "events.db", "SELECT suite, tests, passed, failed FROM test_results ORDER BY id")
    assert rows == [
        {"suite": "unit", "tests": 5, "passed": 5, "failed": 0},
        {"suite": "e2e", "tests": 3, "passed": 2, "failed": 1},
    ]


def test_a_killed_run_is_recorded_as_aborted_by_the_next_run(tmp_path):
    slow = [
        {
            "name": "Slow stage",
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "tasks": [{"name": "Wait", "ansible.builtin.command": "sleep 60"}],
        }
    ]
    env = ansible_env(events_env(tmp_path), callback="default")
    db = tmp_path / "state" / "events.db"
    proc = subprocess.Popen(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(write_playbook(tmp_path, slow, "slow.yml"))],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and query(db, "SELECT id FROM stages WHERE status = 'running'"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the slow run never recorded its stage")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [r["status"] for r in query(db, "SELECT status FROM runs")] == ["running"]
    run = run_playbook(write_playbook(tmp_path), inventory="localhost,", env=events_env(tmp_path))
    assert run.rc == 0, run.output
    runs = {r["playbook"]: r for r in query(db, "SELECT * FROM runs")}
    killed = runs["slow.yml"]
    assert killed["status"] == "aborted" and killed["ended"] is not None
    assert [s["status"] for s in query(db, f"SELECT status FROM stages WHERE run_id = '{killed['id']}'")] == ["aborted"]
