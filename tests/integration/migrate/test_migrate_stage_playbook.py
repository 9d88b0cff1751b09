"""playbooks/db_migrate.yml: the migrations of the application the inventory describes, or none at all."""

from __future__ import annotations

import shutil
import sqlite3
import sys

import pytest

from tests.support.paths import ROOT, SAMPLE_APP
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.integration


@pytest.fixture
def inventory(tmp_path):
    """Only the controller: none of the sample app's group vars."""
    path = tmp_path / "hosts.yml"
    path.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return str(path)


def migrate(app, inventory, tmp_path, **extra):
    extra_vars = {"conveyor_app_dir": str(app), "conveyor_state_dir": str(tmp_path / "state"), **extra}
    return run_playbook(ROOT / "playbooks" / "db_migrate.yml", inventory=inventory, extra_vars=extra_vars)


def skipped_lines(run):
    tasks = [t for t in run.tasks() if t["_task"].endswith("Say why the migrations are skipped")]
    return [t["msg"] for t in tasks if not t.get("skipped")]


def test_an_app_without_a_migrations_directory_skips_the_stage_with_one_line(tmp_path, inventory):
    app = tmp_path / "app"
    (app / "app").mkdir(parents=True)
    run = migrate(app, inventory, tmp_path)
    assert run.rc == 0, run.output[-3000:]
    [line] = skipped_lines(run)
    assert line.startswith("Database migration skipped: the application has no migrations directory (")
    assert "\n" not in line and str(app / "migrations") in line
    result = run.result("Publish the skipped migration result")["ansible_facts"]["db_migrate_result"]
    assert result["skipped"] is True and result["applied"] == []
    assert not (tmp_path / "state" / "db").exists()
    assert run.stats["localhost"]["changed"] == 0


def test_an_empty_conveyor_migrations_path_switches_the_stage_off(tmp_path, inventory):
    run = migrate(SAMPLE_APP, inventory, tmp_path, conveyor_migrations_path="")
    assert run.rc == 0, run.output[-3000:]
    [line] = skipped_lines(run)
    assert line.startswith("Database migration skipped: conveyor_migrations_path is empty;"), line
    assert not (tmp_path / "state" / "db").exists()


def test_conveyor_migrations_path_names_the_directory(tmp_path, inventory):
    app = tmp_path / "app"
    app.mkdir()
    shutil.copytree(SAMPLE_APP / "migrations", tmp_path / "sql")
    run = migrate(app, inventory, tmp_path, conveyor_migrations_path=str(tmp_path / "sql"))
    assert run.rc == 0, run.output[-3000:]
    assert skipped_lines(run) == []
    with sqlite3.connect(tmp_path / "state" / "db" / "sample_app.db") as db:
        assert db.execute("SELECT COUNT(*) FROM conveyor_schema_history WHERE success = 1").fetchone()[0] >= 1
