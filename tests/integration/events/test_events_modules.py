"""dora_metrics and pipeline_report through real ansible-playbook runs."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.events import NOW, build_report_store
from tests.support.paths import ROOT
from tests.support.playbook import run_playbook, run_tasks

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path):
    return build_report_store(tmp_path / "events.db")


def test_dora_metrics_module_returns_the_hand_computed_metrics_in_check_mode_too(tmp_path, store):
    tasks = [
        {
            "name": "metrics",
            "conveyor.cicd.dora_metrics": {"db_path": str(store), "now": NOW, "days": 30},
            "register": "dora",
        }
    ]
    before = store.read_bytes()
    for check in (False, True):
        run = run_tasks(tmp_path, tasks, check=check)
        assert run.rc == 0, run.output
        result = run.result("metrics")
        assert result["changed"] is False
        assert result["environment"] == "production"
        assert result["db_path"] == str(store)
        assert result["deployment_frequency"]["successful"] == 4
        assert result["deployment_frequency"]["per_week"] == 0.9333
        assert result["lead_time"]["median_seconds"] == 45150.0
        assert result["lead_time"]["p90_human"] == "2d"
        assert result["change_failure_rate"]["percent"] == 57.1
        assert result["time_to_restore"]["median_human"] == "2h 30m"
        assert "failed" not in result or result["failed"] is False
    assert store.read_bytes() == before


def test_dora_metrics_reads_the_store_from_the_environment_variable(tmp_path, store):
    tasks = [{"name": "metrics", "conveyor.cicd.dora_metrics": {"environment": "staging", "now": NOW}}]
    run = run_tasks(tmp_path, tasks, env={"CONVEYOR_EVENTS_DB": str(store)})
    assert run.rc == 0, run.output
    assert run.result("metrics")["deployment_frequency"]["deployments"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"db_path": "{tmp}/missing.db"},
            r"event store .*missing\.db does not exist: enable the conveyor\.cicd\.pipeline_events callback",
        ),
        ({"db_path": "{store}", "now": "next week"}, r"now 'next week' is not a date"),
        ({"db_path": "{store}", "failure_window": "-3h"}, r"failure_window '-3h' is not a duration"),
        ({"db_path": "{store}", "days": 0}, r"days must be greater than 0"),
    ],
)
def test_dora_metrics_bad_input_fails_with_one_line(tmp_path, store, args, message):
    args = {k: v.format(tmp=tmp_path, store=store) if isinstance(v, str) else v for k, v in args.items()}
    run = run_tasks(tmp_path, [{"name": "metrics", "conveyor.cicd.dora_metrics": args}])
    assert run.rc == 2
    result = run.result("metrics")
    assert re.search(message, result["msg"]), result["msg"]
    assert "\n" not in result["msg"]
    assert "Traceback" not in result["msg"]


def test_pipeline_report_writes_once_predicts_in_check_mode_and_is_idempotent(tmp_path, store):
    dest = tmp_path / "site" / "report.html"
    task = {
        "name": "report",
        "conveyor.cicd.pipeline_report": {"db_path": str(store), "dest": str(dest), "now": NOW, "runs": 10},
    }

    check = run_tasks(tmp_path, [task], check=True)
    assert check.rc == 0, check.output
    assert check.result("report")["changed"] is True
    assert not dest.exists()

    first = run_tasks(tmp_path, [task])
    assert first.rc == 0, first.output
    result = first.result("report")
    assert result["changed"] is True
    assert result["path"] == str(dest)
    assert result["runs"] == 10
    assert result["last_run"]["status"] == "failed"
    assert result["dora"]["change_failure_rate"]["percent"] == 57.1
    page = dest.read_text()
    assert result["size"] == len(page.encode())
    assert "<svg" in page and not re.search(r"https?://", page)

    second = run_tasks(tmp_path, [task])
    assert second.result("report")["changed"] is False
    again = run_tasks(tmp_path, [task], check=True)
    assert again.result("report")["changed"] is False


def test_pipeline_report_into_a_directory_fails_with_one_line(tmp_path, store):
    task = {"name": "report", "conveyor.cicd.pipeline_report": {"db_path": str(store), "dest": str(tmp_path)}}
    run = run_tasks(tmp_path, [task])
    assert run.rc == 2
    assert "is a directory: give the path of the HTML file" in run.result("report")["msg"]


def test_feedback_playbook_reports_the_runs_the_callback_recorded(tmp_path):
    state = tmp_path / "state"
    env = {"ANSIBLE_CALLBACKS_ENABLED": "conveyor.cicd.pipeline_events"}
    runs = [
        run_playbook(
            ROOT / "playbooks" / "feedback.yml",
            extra_vars={"conveyor_state_dir": str(state)},
            env=env,
            callback="default",
        )
        for _round in range(2)
    ]
    for run in runs:
        assert run.rc == 0, run.output
        assert f"Pipeline report: {state}/report/index.html" in run.stdout
        assert "deployment frequency: no deployments in the window (no data)" in run.stdout
        assert f"events: {state}/events.db" in run.stdout
    page = (state / "report" / "index.html").read_text()
    # the second run shows itself as running, and the first one (finished) in the trend
    assert ">running</span>" in page
    assert "Stage durations of the last run" in page
    assert '<rect class="segment"' in page


def test_feedback_names_the_release_of_the_record_and_conveyor_release_wins(tmp_path):
    state = tmp_path / "state"
    (state / "release").mkdir(parents=True)
    manifest = {
        "schema": 1,
        "name": "conveyor-sample-app",
        "version": "2.0.0",
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "commit_time": 1714564800},
        "artifacts": [],
    }
    (state / "release" / "current.manifest.json").write_text(json.dumps(manifest))
    env = {"ANSIBLE_CALLBACKS_ENABLED": "conveyor.cicd.pipeline_events"}
    extra = {"conveyor_state_dir": str(state)}
    recorded = run_playbook(ROOT / "playbooks" / "feedback.yml", extra_vars=extra, env=env, callback="default")
    assert recorded.rc == 0, recorded.output
    assert "Release: conveyor-sample-app 2.0.0 (commit 0123456789ab)" in recorded.stdout
    # as an AWX workflow node receives it from the publish job
    given = {"name": "conveyor-sample-app", "version": "3.0.0", "manifest": dict(manifest, version="3.0.0", git=None)}
    run = run_playbook(
        ROOT / "playbooks" / "feedback.yml",
        extra_vars={**extra, "conveyor_release": given},
        env=env,
        callback="default",
    )
    assert run.rc == 0, run.output
    assert "Release: conveyor-sample-app 3.0.0" in run.stdout and "2.0.0" not in run.stdout
