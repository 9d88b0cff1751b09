"""The whole pipeline on a copy of the sample app, as `make pipeline` runs it, twice."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess

import pytest

from tests.support.paths import ROOT, SAMPLE_APP
from tests.support.pipeline import pipeline_inventory, stop_services
from tests.support.playbook import noise_in, run_playbook

IGNORE = shutil.ignore_patterns(
    "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".conveyor", "junit-*.xml", "*.db"
)


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    app = base / "sample_app"
    shutil.copytree(SAMPLE_APP, app, ignore=IGNORE)
    inventory, ports = pipeline_inventory(base)
    extra = {"conveyor_app_dir": str(app), "conveyor_state_dir": str(base / "state"), **ports}
    try:
        first = run_playbook(ROOT / "pipeline.yml", extra_vars=extra, inventory=str(inventory), timeout=1200)
        second = run_playbook(ROOT / "pipeline.yml", extra_vars=extra, inventory=str(inventory), timeout=1200)
        yield base, first, second
    finally:
        stop_services(base / "state")


def test_first_run_passes_every_stage(pipeline_runs):
    base, first, _second = pipeline_runs
    assert first.rc == 0, first.output[-5000:]
    stages = {s["stage"]: s for s in first.result("Collect the stage results")["ansible_facts"]["ci_result"]}
    assert list(stages)[:5] == ["lint", "build", "test:unit", "test:integration", "test:e2e"]
    assert all(s["result"] in ("ok", "passed") for s in stages.values()), stages
    assert (base / "sample_app" / "dist").is_dir()
    assert sorted(p.suffix for p in (base / "sample_app" / "dist").iterdir()) == [".gz", ".whl"]
    assert (base / "state" / "ci" / "reports" / "junit-e2e.xml").is_file()


def test_release_is_prepared_in_an_isolated_repository(pipeline_runs):
    base, first, _second = pipeline_runs
    facts = first.result("Publish the release facts for later stages")["ansible_facts"]
    assert facts["release_version"] == "0.2.0" and facts["release_tag"] == "v0.2.0"
    repo = base / "state" / "release" / "conveyor-sample-app"
    tags = subprocess.run(["git", "-C", str(repo), "tag"], capture_output=True, text=True, check=True).stdout.split()
    assert tags == ["v0.1.0", "v0.2.0"]
    assert "## [0.2.0]" in (repo / "CHANGELOG.md").read_text()
    own = subprocess.run(["git", "-C", str(ROOT), "tag"], capture_output=True, text=True, check=True).stdout
    assert "v0.2.0" not in own.split()


def test_release_is_packaged_and_published_to_the_staging_repository(pipeline_runs):
    base, _first, _second = pipeline_runs
    # the copy is not a git work tree, so the snapshot version carries no commit
    version_dir = base / "state" / "artifacts" / "staging" / "conveyor-sample-app" / "0.1.0-dev"
    manifest = json.loads((version_dir / "conveyor-sample-app-0.1.0-dev.manifest.json").read_text())
    assert {a["format"] for a in manifest["artifacts"]} == {"tar.gz", "wheel", "sdist"}
    for artifact in manifest["artifacts"]:
        data = (version_dir / artifact["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == artifact["sha256"] and len(data) == artifact["size"]
    assert manifest["tests"]["unit"]["failed"] == 0 and manifest["tests"]["unit"]["tests"] > 0


def test_migrations_are_applied_to_the_embedded_sqlite_database(pipeline_runs):
    base, _first, _second = pipeline_runs
    with sqlite3.connect(base / "state" / "db" / "sample_app.db") as db:
        versions = [
            row[0]
            for row in db.execute(
                "SELECT version FROM conveyor_schema_history WHERE success = 1 ORDER BY installed_rank"
            )
        ]
        assert versions == ["1", "2"]
        assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] > 0


def test_second_run_changes_nothing_and_hits_every_cache(pipeline_runs):
    _base, _first, second = pipeline_runs
    assert second.rc == 0, second.output[-5000:]
    assert second.stats["localhost"]["changed"] == 0, [t["_task"] for t in second.tasks() if t.get("changed")]
    stages = second.result("Collect the stage results")["ansible_facts"]["ci_result"]
    assert {s["stage"]: s["result"] for s in stages}["build"] == "cached"
    assert all(s["result"] == "cached" for s in stages if s["stage"].startswith("test:"))


def test_neither_run_prints_a_warning_a_deprecation_or_a_traceback(pipeline_runs):
    _base, first, second = pipeline_runs
    for run in (first, second):
        assert noise_in(run) == []
        assert [line for line in run.output.splitlines() if "[WARNING]" in line] == []
        warned = [
            (task["_task"], task["warnings"]) for host in run.stats for task in run.tasks(host) if task.get("warnings")
        ]
        assert warned == []


def test_later_stages_take_the_release_from_the_record_the_publish_stage_wrote(pipeline_runs):
    base, first, second = pipeline_runs
    record = json.loads((base / "state" / "release" / "current.manifest.json").read_text())
    stored = base / "state" / "artifacts" / "staging" / "conveyor-sample-app" / "0.1.0-dev"
    assert record == json.loads((stored / "conveyor-sample-app-0.1.0-dev.manifest.json").read_text())
    for run in (first, second):
        for host in ("app1", "app2", "app3"):
            assert run.result("Roll out the release", host=host)["conveyor_deploy"]["version"] == "0.1.0-dev"
        migrated = run.result("Publish the migration result")["ansible_facts"]["db_migrate_result"]
        assert migrated["release"] == {"name": "conveyor-sample-app", "version": "0.1.0-dev", "commit": None}
        feedback = [t for t in run.tasks() if "feedback_result" in t.get("ansible_facts", {})]
        assert feedback[-1]["ansible_facts"]["feedback_result"]["release"]["version"] == "0.1.0-dev"
        pushed = [t for t in run.tasks() if t["_task"].endswith("Push the pipeline metrics to the Pushgateway")]
        assert all('version="0.1.0-dev"' in t["body"] for t in pushed if "body" in t), pushed
