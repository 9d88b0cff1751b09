"""The event store: schema migrations, scrubbing of secrets, the read API and the JSON-lines sink."""

from __future__ import annotations

import json
import sqlite3
import stat

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _events
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._events import (
    SCHEMA_VERSION,
    EventStore,
    append_jsonl,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._pushgateway import render
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import mask_data, mask_text, secret_values


def test_new_store_is_created_with_the_current_schema(tmp_path):
    path = tmp_path / "deep" / "dir" / "events.db"
    with EventStore(str(path)) as store:
        assert store.schema_version == SCHEMA_VERSION
    tables = {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "stages", "stage_hosts", "deployments", "failures", "test_results"} <= tables


def test_migrations_run_once_and_in_order(tmp_path, monkeypatch):
    path = str(tmp_path / "events.db")
    EventStore(path).close()
    # a later release adds a version: an existing store is upgraded in place, data kept
    with EventStore(path) as store:
        store.start_run("r1", "site.yml", 100.0)
    later = SCHEMA_VERSION + 1
    monkeypatch.setitem(_events.MIGRATIONS, later, "ALTER TABLE runs ADD COLUMN branch TEXT;")
    monkeypatch.setattr(_events, "SCHEMA_VERSION", later)
    with EventStore(path) as store:
        assert store.schema_version == later
        assert [tuple(row) for row in store.db.execute("SELECT id, branch FROM runs")] == [("r1", None)]
    with EventStore(path) as store:  # nothing left to do the second time
        assert store.schema_version == later


def test_reader_refuses_a_missing_store_a_newer_schema_and_a_foreign_file(tmp_path):
    with pytest.raises(
        ConfigurationError, match=r"does not exist: enable the conveyor\.cicd\.pipeline_events callback"
    ):
        EventStore(str(tmp_path / "none.db"), readonly=True)
    newer = tmp_path / "newer.db"
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigurationError, match="newer than this collection"):
        EventStore(str(newer), readonly=True)
    foreign = tmp_path / "foreign.db"
    foreign.write_text("this is not sqlite at all, just text that is long enough to be read as a header\n" * 20)
    with pytest.raises(ConfigurationError, match="is not a conveyor event store"):
        EventStore(str(foreign), readonly=True)


def test_reader_never_writes(tmp_path):
    path = tmp_path / "events.db"
    EventStore(str(path)).close()
    before = path.read_bytes()
    with EventStore(str(path), readonly=True) as store, pytest.raises(sqlite3.OperationalError):
        store.start_run("r1", "site.yml", 1.0)
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:***@db:5432/app"),
        (
            "connect to mysql+pymysql://root:pw%40x@10.0.0.1/db failed",
            "connect to mysql+pymysql://root:***@10.0.0.1/db failed",
        ),
        ("https://example.org/path", "https://example.org/path"),
        ("host=db user=app password=hunter22 dbname=x", "host=db user=app password=******** dbname=x"),
        ("PGPASSWORD='a b c' psql", "PGPASSWORD=******** psql"),
        ("token: abcdef123", "token: ********"),
        ("tests passed: 3", "tests passed: 3"),
    ],
)
def test_mask_text_masks_passwords_in_dsns_and_pairs(text, expected):
    assert mask_text(text) == expected


def test_mask_data_masks_secret_keys_anywhere_and_known_secret_values():
    data = {
        "password": "hunter22",
        "nested": [{"login_password": "pw123456", "user": "app"}, {"secret_key": "AKIA"}],
        "api_token": "t0k3n-value",
        "passed": 40,
        "msg": "login as app with pw123456 failed",
    }
    secrets = secret_values(data)
    assert secrets == {"hunter22", "pw123456", "AKIA", "t0k3n-value"}
    cleaned = mask_data(data, secrets)
    assert cleaned["password"] == "********"
    assert cleaned["nested"][0] == {"login_password": "********", "user": "app"}
    assert cleaned["api_token"] == "********"
    assert cleaned["passed"] == 40
    assert cleaned["msg"] == "login as app with ******** failed"


def test_everything_written_is_scrubbed(tmp_path):
    path = tmp_path / "events.db"
    with EventStore(str(path)) as store:
        store.start_run("r1", "site.yml", 1.0)
        stage = store.start_stage("r1", 1, "Migrate postgresql://app:dbpw9876@db/app", 1.0)
        store.add_failure(
            "r1", stage, "h1", 2.0, "connect", "FATAL: password=dbpw9876 rejected for postgres://u:dbpw9876@h/x"
        )
        store.add_deployment("r1", stage, "h1", 3.0, "production", version="1.0", commit="abc", changed=True)
        store.finish_stage(stage, 4.0, "failed", {"h1": {"ok": 1, "failed": 1}})
        store.finish_run("r1", 5.0, "failed", {"ok": 1, "failed": 1}, ["h1"])
    assert b"dbpw9876" not in path.read_bytes()
    with EventStore(str(path), readonly=True) as store:
        [stage] = store.stages("r1")
        assert stage["name"] == "Migrate postgresql://app:***@db/app"
        assert stage["duration"] == 3.0
        assert stage["hosts"] == [{"host": "h1", "ok": 1, "changed": 0, "failed": 1, "unreachable": 0, "skipped": 0}]
        [failure] = store.failures("r1")
        assert "dbpw9876" not in failure["message"]
        [run] = store.runs()
        assert run["status"] == "failed"
        assert run["duration"] == 4.0
        assert run["hosts"] == ["h1"]


def test_unfinished_and_check_mode_runs_are_not_listed(tmp_path):
    with EventStore(str(tmp_path / "e.db")) as store:
        store.start_run("running", "a.yml", 1.0)
        store.start_run("check", "a.yml", 2.0, check_mode=True)
        store.finish_run("check", 3.0, "success")
        store.start_run("done", "a.yml", 4.0)
        store.finish_run("done", 5.0, "success")
        assert [run["id"] for run in store.runs()] == ["done"]
        assert [run["id"] for run in store.runs(include_check=True)] == ["check", "done"]
        assert store.run_count() == 3


def test_commit_time_accepts_iso_and_epoch_and_rejects_garbage(tmp_path):
    with EventStore(str(tmp_path / "e.db")) as store:
        store.start_run("r", "a.yml", 1.0)
        store.add_deployment("r", None, "h", 10.0, "production", commit_time="1970-01-01T01:00:00+01:00")
        store.add_deployment("r", None, "h", 10.0, "staging", commit_time=7)
        rows = store.deployment_rows()
        assert [row["commit_time"] for row in rows] == [0.0, 7.0]
        with pytest.raises(ConfigurationError, match="commit_time 'last tuesday' is not a date"):
            store.add_deployment("r", None, "h", 10.0, "production", commit_time="last tuesday")


def test_jsonl_sink_appends_scrubbed_lines(tmp_path):
    path = tmp_path / "logs" / "events.jsonl"
    append_jsonl(str(path), {"event": "failure", "message": "redis://:hunter22@cache:6379/0 down", "token": "x1y2z3"})
    append_jsonl(str(path), {"event": "run_end"})
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["message"] == "redis://:***@cache:6379/0 down"
    assert lines[0]["token"] == "********"
    assert lines[1] == {"event": "run_end"}


def test_the_store_and_the_jsonl_file_are_created_owner_only(tmp_path):
    EventStore(str(tmp_path / "events.db")).close()
    append_jsonl(str(tmp_path / "events.jsonl"), {"event": "run_end"})
    for name in ("events.db", "events.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_stage_metrics_are_rendered_by_the_one_pushgateway_client():
    stage = {"status": "success", "duration": 1.5, "changed": 2, "failed": 0, "ended": 1700000000.0}
    samples = [{"name": n, "help": h, "value": v, "labels": lb} for n, h, v, lb in _events.stage_metrics(stage)]
    text = render(samples)
    assert "# TYPE conveyor_stage_duration_seconds gauge\n" in text
    assert "conveyor_stage_duration_seconds 1.5\n" in text
    assert "conveyor_stage_success 1\n" in text
    labelled = render(
        [{"name": "conveyor_stage_duration_seconds", "help": "Wall time.", "value": 1.5, "labels": {"x": 'a"b'}}]
    )
    assert labelled == (
        "# HELP conveyor_stage_duration_seconds Wall time.\n"
        "# TYPE conveyor_stage_duration_seconds gauge\n"
        'conveyor_stage_duration_seconds{x="a\\"b"} 1.5\n'
    )
    with pytest.raises(ConfigurationError, match="is not a metric name"):
        render([{"name": "bad-name", "value": 1}])


def test_a_killed_run_is_closed_as_aborted_by_the_next_run_on_the_same_controller(tmp_path):
    path = str(tmp_path / "events.db")
    with EventStore(path) as store:
        store.start_run("killed", "pipeline.yml", 100.0, controller="ci-1", pid=4242)
        stage = store.start_stage("killed", 1, "ci", 101.0)
        store.finish_stage(stage, 105.0, "success", {"localhost": {"ok": 3}})
        store.start_stage("killed", 2, "deploy", 106.0)
        store.start_run("live", "pipeline.yml", 200.0, controller="ci-1", pid=4343)
        store.start_run("elsewhere", "pipeline.yml", 100.0, controller="ci-2", pid=4242)
        closed = store.close_abandoned_runs("ci-1", 300.0, alive=lambda pid: pid == 4343)
        assert closed == ["killed"]
        runs = {row["id"]: row for row in store._rows("SELECT * FROM runs")}
        assert runs["killed"]["status"] == "aborted"
        assert (runs["killed"]["ended"], runs["killed"]["duration"]) == (106.0, 6.0)
        assert runs["live"]["status"] == "running" and runs["elsewhere"]["status"] == "running"
        assert [(s["name"], s["status"]) for s in store.stages("killed")] == [("ci", "success"), ("deploy", "aborted")]
        # an aborted run is a finished run for the report and the trend
        assert [r["id"] for r in store.runs()] == ["killed"]
        assert store.close_abandoned_runs("ci-1", 400.0, alive=lambda pid: pid == 4343) == []


def test_a_run_without_a_pid_from_an_older_store_is_abandoned_after_a_day(tmp_path):
    with EventStore(str(tmp_path / "events.db")) as store:
        store.start_run("old", "pipeline.yml", 1000.0, controller="ci-1")
        assert store.close_abandoned_runs("ci-1", 1000.0 + 3600) == []
        assert store.close_abandoned_runs("ci-1", 1000.0 + 90000) == ["old"]


def test_a_canary_rolled_back_later_in_its_run_is_a_rolled_back_deployment(tmp_path):
    from ansible_collections.conveyor.cicd.plugins.module_utils._events import compute_dora

    with EventStore(str(tmp_path / "e.db")) as store:
        store.start_run("good", "deploy.yml", 100.0)
        store.add_deployment("good", None, "app2", 110.0, "production", version="1.0.0", changed=True)
        store.add_deployment("good", None, "app3", 111.0, "production", version="1.0.0", changed=True)
        store.finish_run("good", 120.0, "success")
        # the canary switched (success), then its re-check failed and the rescue restored 1.0.0
        store.start_run("bad", "deploy.yml", 200.0)
        store.add_deployment("bad", None, "app2", 210.0, "production", version="2.0.0", changed=True)
        store.add_deployment("bad", None, "app2", 215.0, "production", kind="rollback", version="1.0.0", changed=True)
        store.finish_run("bad", 220.0, "failed")
        # a rollback of another host in another run changes nothing for these
        store.start_run("other", "deploy.yml", 300.0)
        store.add_deployment("other", None, "app1", 310.0, "staging", version="2.0.0", changed=True)
        store.finish_run("other", 320.0, "success")
        deploys = [(d["run_id"], d["kind"], d["status"]) for d in store.deployments()]
        assert deploys == [
            ("good", "deploy", "success"),
            ("bad", "deploy", "rolled_back"),
            ("bad", "rollback", "success"),
            ("other", "deploy", "success"),
        ]
        # a failed change even when the failure window is shorter than the time to the rollback
        dora = compute_dora(store, "production", days=1, now=1000.0, failure_window="1s")
        # and the canary's rollback undid its own run's change, not the deployment before it
        wide = compute_dora(store, "production", days=1, now=1000.0, failure_window="1d")
    assert dora["change_failure_rate"]["failed_deployments"] == 1
    assert dora["change_failure_rate"]["rate"] == 0.5
    assert wide["change_failure_rate"]["failed_deployments"] == 1
