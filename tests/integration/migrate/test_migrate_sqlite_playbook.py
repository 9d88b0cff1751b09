"""conveyor.cicd.db_migrate and db_migrate_info on SQLite, through real ansible-playbook runs."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
import yaml

from tests.integration.migrate.conftest import start_playbook
from tests.support.playbook import run_tasks

pytestmark = pytest.mark.integration


def history(database):
    with sqlite3.connect(database) as conn:
        return conn.execute(
            "SELECT version, type, success FROM conveyor_schema_history ORDER BY installed_rank"
        ).fetchall()


def test_check_mode_touches_nothing_then_apply_is_idempotent(tmp_path, migrations):
    database = tmp_path / "db" / "app.db"
    database.parent.mkdir()
    args = {"database": str(database), "migrations_path": str(migrations), "placeholders": {"first_item": "apple"}}
    run = run_tasks(
        tmp_path,
        [
            {"name": "preview", "conveyor.cicd.db_migrate": args, "check_mode": True, "diff": True},
            {"name": "database file after preview", "ansible.builtin.stat": {"path": str(database)}},
            {"name": "lock file after preview", "ansible.builtin.stat": {"path": f"{database}.migrate.lock"}},
            {"name": "apply", "conveyor.cicd.db_migrate": args},
            {"name": "apply again", "conveyor.cicd.db_migrate": args},
            {"name": "info", "conveyor.cicd.db_migrate_info": args},
        ],
    )
    assert run.rc == 0, run.output
    preview = run.result("preview")
    assert preview["changed"] is True and preview["applied"] == []
    assert [p["script"] for p in preview["planned"]] == [
        "V1__create_items.sql",
        "V2__add_price_and_seed.sql",
        "R__items_view.sql",
    ]
    assert "INSERT INTO items (id, name, price) VALUES (1, 'apple', 9.50);" in preview["diff"]["prepared"]
    assert run.result("database file after preview")["stat"]["exists"] is False
    assert run.result("lock file after preview")["stat"]["exists"] is False
    applied = run.result("apply")
    assert applied["changed"] is True and applied["current_version"] == "2"
    assert [(a["version"], a["type"]) for a in applied["applied"]] == [
        ("1", "versioned"),
        ("2", "versioned"),
        (None, "repeatable"),
    ]
    assert all(len(a["checksum"]) == 64 and a["execution_time_ms"] >= 0 for a in applied["applied"])
    again = run.result("apply again")
    assert again["changed"] is False and again["applied"] == [] and again["pending"] == []
    info = run.result("info")
    assert info["changed"] is False and info["current_version"] == "2" and info["problems"] == []
    assert [a["script"] for a in info["applied"]] == [a["script"] for a in applied["applied"]]
    assert history(database) == [("1", "versioned", 1), ("2", "versioned", 1), (None, "repeatable", 1)]


def test_failure_in_the_middle_keeps_earlier_migrations(tmp_path, migrations):
    database = tmp_path / "app.db"
    (migrations / "V3__broken.sql").write_text("CREATE TABLE half (id int);\nUPDATE missing_table SET x = 1;\n")
    (migrations / "V4__after.sql").write_text("CREATE TABLE after_broken (id int);\n")
    run = run_tasks(
        tmp_path,
        [
            {
                "name": "apply",
                "conveyor.cicd.db_migrate": {
                    "database": str(database),
                    "migrations_path": str(migrations),
                    "placeholders": {"first_item": "apple"},
                },
                "ignore_errors": True,
            }
        ],
    )
    result = run.result("apply")
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("V3__broken.sql failed at line 2: no such table: missing_table")
    assert "Traceback" not in run.output
    assert result["failed_script"] == "V3__broken.sql" and result["failed_line"] == 2
    assert [a["version"] for a in result["applied"]] == ["1", "2"]
    assert history(database) == [("1", "versioned", 1), ("2", "versioned", 1)]
    with sqlite3.connect(database) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "half" not in tables and "after_broken" not in tables and "items" in tables


def test_two_concurrent_playbooks_apply_each_migration_once(tmp_path, migrations):
    database = tmp_path / "app.db"
    for n in range(3, 9):  # slow enough that both runs overlap
        body = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) SELECT count(*) FROM c;"
        )
        (migrations / f"V{n}__slow_{n}.sql").write_text(f"CREATE TABLE slow_{n} (id int);\n{body}\n")
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "connection": "local",
            "tasks": [
                {
                    "name": "apply",
                    "conveyor.cicd.db_migrate": {
                        "database": str(database),
                        "migrations_path": str(migrations),
                        "placeholders": {"first_item": "apple"},
                    },
                }
            ],
        }
    ]
    playbook = tmp_path / "concurrent.yml"
    playbook.write_text(yaml.safe_dump(play))
    procs = [start_playbook(playbook) for _round in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    results = [json.loads(out[out.index("{") :])["plays"][0]["tasks"][0]["hosts"]["localhost"] for out, _err in outputs]
    applied = [a["script"] for r in results for a in r["applied"]]
    assert sorted(applied) == sorted(set(applied)) and len(applied) == 9
    versions = [v for v, _kind, _success in history(database) if v]
    assert sorted(versions, key=float) == [str(n) for n in range(1, 9)]


def _write_locked(database) -> bool:
    """True while another connection holds SQLite's exclusive write lock on ``database``."""
    if not database.exists():
        return False
    try:
        with sqlite3.connect(database, timeout=0) as conn:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    return False


def test_a_run_waits_for_a_slow_migration_that_holds_the_write_lock(tmp_path, migrations):
    database = tmp_path / "app.db"
    (migrations / "V3__slow_backfill.sql").write_text(
        "CREATE TABLE backfill (id int, pad blob);\n"
        # more rows than the page cache holds: from here on the transaction keeps the file's exclusive lock
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000) "
        "INSERT INTO backfill SELECT x, randomblob(200) FROM c;\n"
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000000) SELECT count(*) FROM c;\n"
    )
    task = {"database": str(database), "migrations_path": str(migrations), "placeholders": {"first_item": "apple"}}
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "tasks": [{"name": "apply", "conveyor.cicd.db_migrate": task}]}]  # fmt: skip
    playbook = tmp_path / "concurrent.yml"
    playbook.write_text(yaml.safe_dump(play))
    first = start_playbook(playbook)
    deadline = time.monotonic() + 120
    while not _write_locked(database):  # the second run starts while the first holds the lock
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.05)
    second = start_playbook(playbook)
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    results = [json.loads(out[out.index("{") :])["plays"][0]["tasks"][0]["hosts"]["localhost"] for out, _err in outputs]
    assert [len(r["applied"]) for r in results] == [4, 0]  # the second waited, then found nothing to do
    assert history(database) == [
        ("1", "versioned", 1),
        ("2", "versioned", 1),
        ("3", "versioned", 1),
        (None, "repeatable", 1),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"history_table": "history; DROP TABLE items"}, "history_table 'history; DROP TABLE items' is not a valid"),
        (
            {"migrations_path": "/nonexistent/migrations"},
            "migrations_path '/nonexistent/migrations' is not a directory",
        ),
        ({"state": "rolled_back"}, "state rolled_back needs a target version"),
        ({"login_user": "app"}, "'login_user' applies to engine postgresql only"),
        ({"target": "two"}, "'two' is not a migration version"),
    ],
)
def test_bad_input_is_one_line(tmp_path, migrations, args, message):
    params = {"database": str(tmp_path / "app.db"), "migrations_path": str(migrations), **args}
    run = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params, "ignore_errors": True}])
    result = run.result("apply")
    assert result["failed"] is True and message in result["msg"]
    assert "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert not (tmp_path / "app.db").exists()
