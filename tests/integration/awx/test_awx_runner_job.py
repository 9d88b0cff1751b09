"""The pipeline run through ansible-runner exactly as AWX runs a job; events, artifacts and set_stats read back."""

from __future__ import annotations

import json
import re

import pytest

from .conftest import JOB_ID

pytestmark = pytest.mark.integration


def test_job_succeeds_like_an_awx_job(release_job):
    runner = release_job.runner
    assert runner.status == "successful", (release_job.artifacts / "stdout").read_text()[-3000:]
    assert runner.rc == 0
    assert (release_job.artifacts / "rc").read_text().strip() == "0"
    assert (release_job.artifacts / "status").read_text().strip() == "successful"
    # the collection came from requirements_collections, installed by the project sync, not from this checkout
    installed = release_job.private_data_dir / "requirements_collections/ansible_collections/conveyor/cicd"
    assert (installed / "MANIFEST.json").exists()


def test_events_cover_start_the_ci_stages_and_stats(release_job):
    names = [e.get("event") for e in release_job.runner.events]
    assert names[0] == "playbook_on_start"
    # the pipeline_events callback (enabled in the project's ansible.cfg) prints its table after the stats
    assert names[-1] == "playbook_on_stats" or (names[-2:] == ["playbook_on_stats", "verbose"])
    assert any("PIPELINE EVENTS" in (e.get("stdout") or "") for e in release_job.runner.events)
    ok = release_job.ok_tasks()
    stages = {
        "lint": ("Lint and check formatting",),
        "build": ("Build",),
        "test": ("Run test suites one after another", "Run test suites in parallel"),
    }
    for stage, tasks in stages.items():
        assert any(task.endswith(tasks) for task in ok), f"no runner_on_ok for the {stage} stage: {ok}"
    assert not release_job.events("runner_on_failed")
    start = release_job.events("playbook_on_start")[0]["event_data"]
    assert start["playbook"] == "conveyor_release.yml"
    assert all(e["event_data"].get("host") == "localhost" for e in release_job.events("runner_on_ok"))
    # AWX's event_handler saw every event ansible-runner stored
    assert [e["uuid"] for e in release_job.handled_events] == [e["uuid"] for e in release_job.runner.events]


def test_artifacts_hold_job_events_and_stdout(release_job):
    events_dir = release_job.artifacts / "job_events"
    files = sorted(events_dir.glob("*.json"))
    assert len(files) == len(list(release_job.runner.events))
    counters = sorted(json.loads(f.read_text())["counter"] for f in files)
    assert counters == list(range(1, len(files) + 1))
    # AWX renders the ANSI colours of a pty run; strip them to read the recap
    stdout = re.sub(r"\x1b\[[0-9;]*m", "", (release_job.artifacts / "stdout").read_text())
    assert re.search(r"PLAY RECAP \*+\s+localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", stdout)
    assert (release_job.artifacts / "command").exists()
    command = json.loads((release_job.artifacts / "command").read_text())
    assert command["command"][0].endswith("ansible-playbook")
    assert "--forks=5" in command["command"]


def test_awx_extra_vars_reach_the_play(release_job):
    start = release_job.events("playbook_on_play_start")[0]
    assert start["event_data"]["play"] == "Continuous integration"
    env_file = (release_job.private_data_dir / "env" / "extravars").read_text()
    assert f"awx_job_id: {JOB_ID}" in env_file


def test_set_stats_reach_the_stats_event_artifact_data(release_job):
    """AWX stores the playbook_on_stats event's artifact_data as the job's artifacts for later workflow nodes."""
    stats = release_job.events("playbook_on_stats")[-1]["event_data"]
    artifacts = stats["artifact_data"]
    assert set(artifacts) >= {"publish_result", "conveyor_release"}
    release = artifacts["conveyor_release"]
    assert release["name"] == "conveyor-sample-app"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", release["version"])
    manifest = release["manifest"]
    assert manifest["version"] == release["version"]
    assert manifest["artifacts"], manifest
    assert all(url.startswith("file://") for url in release["artifact_urls"])
    assert release["manifest_url"] == artifacts["publish_result"]["manifest_url"]
    assert release["tests"] == manifest.get("tests", {})
    assert stats["ok"]["localhost"] > 0 and not stats["failures"]
    # the same data is in the stored event file that ansible-runner wrote
    stored = [json.loads(p.read_text()) for p in (release_job.artifacts / "job_events").glob("*-*.json")]
    on_stats = [e for e in stored if e.get("event") == "playbook_on_stats"]
    assert on_stats and on_stats[0]["event_data"]["artifact_data"] == artifacts
