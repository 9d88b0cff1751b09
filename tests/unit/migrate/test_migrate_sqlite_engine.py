"""The engine against real SQLite files, without Ansible: runs, failures, locks, check mode."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import signal
import sqlite3
import threading
import time

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.driver import LockTimeoutError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.engine import (
    MigrationFailed,
    ValidationError,
    driver_from_params,
    inspect,
    migrate,
)


@pytest.fixture
def project(tmp_path):
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "V1__create_items.sql").write_text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\n")
    (migrations / "V2__seed.sql").write_text("INSERT INTO items (name) VALUES ('${first}');\n")
    (migrations / "U2__seed.sql").write_text("DELETE FROM items;\n")
    return tmp_path, str(migrations), str(tmp_path / "app.db")


def driver(database, **extra):
    return driver_from_params({"engine": "sqlite", "database": database, **extra})


def rows(database, sql="SELECT version, type, success FROM conveyor_schema_history ORDER BY installed_rank"):
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def test_migrate_applies_then_reports_nothing_to_do(project):
    _root, migrations, database = project
    first = migrate(driver(database), migrations, placeholders={"first": "apple"})
    assert first["changed"] and [a["version"] for a in first["applied"]] == ["1", "2"]
    assert first["current_version"] == "2" and first["pending"] == []
    second = migrate(driver(database), migrations, placeholders={"first": "apple"})
    assert not second["changed"] and second["applied"] == []
    assert rows(database, "SELECT name FROM items") == [("apple",)]


def test_check_mode_creates_no_file_and_previews_the_sql(project):
    _root, migrations, database = project
    result = migrate(driver(database), migrations, secret_placeholders={"first": "hidden"}, check_mode=True,
                     want_sql=True)  # fmt: skip
    assert result["changed"] and [p["version"] for p in result["planned"]] == ["1", "2"]
    assert "CREATE TABLE items" in result["diff"]["prepared"] and "hidden" not in result["diff"]["prepared"]
    assert not os.path.exists(database) and not os.path.exists(database + ".migrate.lock")


def test_failure_keeps_earlier_migrations_and_names_file_and_line(project):
    _root, migrations, database = project
    with open(os.path.join(migrations, "V3__broken.sql"), "w") as handle:
        handle.write("CREATE TABLE ok_before (id int);\n\nINSERT INTO no_such_table VALUES (1);\n")
    with pytest.raises(MigrationFailed) as failure:
        migrate(driver(database), migrations, placeholders={"first": "a"})
    assert failure.value.msg.startswith("V3__broken.sql failed at line 3: no such table: no_such_table")
    assert [a["version"] for a in failure.value.details["applied"]] == ["1", "2"]
    assert rows(database) == [("1", "versioned", 1), ("2", "versioned", 1)]
    assert rows(database, "SELECT name FROM sqlite_master WHERE name = 'ok_before'") == []


def test_rollback_applies_undo_files_down_to_target(project):
    _root, migrations, database = project
    migrate(driver(database), migrations, placeholders={"first": "a"})
    undone = migrate(driver(database), migrations, state="rolled_back", target="1", placeholders={"first": "a"})
    assert undone["changed"] and [(a["version"], a["type"]) for a in undone["applied"]] == [("2", "undo")]
    assert undone["current_version"] == "1" and [p["version"] for p in undone["pending"]] == ["2"]
    again = migrate(driver(database), migrations, state="rolled_back", target="1")
    assert not again["changed"]
    redo = migrate(driver(database), migrations, placeholders={"first": "b"})
    assert [a["version"] for a in redo["applied"]] == ["2"]


def test_lock_held_by_another_run_times_out_with_a_clear_error(project):
    _root, migrations, database = project
    with open(database + ".migrate.lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(LockTimeoutError, match="another migration run held the lock"):
            migrate(driver(database), migrations, placeholders={"first": "a"}, lock_timeout=0.3)
    assert not os.path.exists(database) or rows(database, "SELECT name FROM sqlite_master") == []


def test_validation_problems_stop_before_anything_runs(project):
    _root, migrations, database = project
    migrate(driver(database), migrations, placeholders={"first": "a"})
    with open(os.path.join(migrations, "V1__create_items.sql"), "a") as handle:
        handle.write("-- edited\n")
    (open(os.path.join(migrations, "V3__new.sql"), "w")).close()
    with pytest.raises(
        ValidationError, match=r"^V1__create_items\.sql changed after it was applied.*nothing was applied"
    ):
        migrate(driver(database), migrations, placeholders={"first": "a"})
    assert len(rows(database)) == 2
    info = inspect(driver(database), migrations, placeholders={"first": "a"})
    assert info["current_version"] == "2" and len(info["problems"]) == 1
    assert [p["version"] for p in info["pending"]] == ["3"]


def test_bad_parameters_are_one_line(tmp_path):
    with pytest.raises(ConfigurationError, match="history_table 'drop table;' is not a valid identifier"):
        driver(str(tmp_path / "a.db"), history_table="drop table;")
    with pytest.raises(ConfigurationError, match="'dsn' applies to engine postgresql only"):
        driver(str(tmp_path / "a.db"), dsn="postgresql://x")
    with pytest.raises(ConfigurationError, match=r"directory of database .* does not exist"):
        migrate(driver(str(tmp_path / "nope" / "a.db")), str(tmp_path))


# A no-transaction migration: insert, a few seconds of work, insert (each statement commits on its own).
SLOW_NO_TRANSACTION = (
    "-- conveyor:no-transaction\n"
    "INSERT INTO items (name) VALUES ('first');\n"
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000000) SELECT count(*) FROM c;\n"
    "INSERT INTO items (name) VALUES ('second');\n"
)


def _migrate_in_child(database, migrations):
    migrate(driver(database), migrations, placeholders={"first": "a"})


def test_killed_no_transaction_migration_stops_the_next_run(project):
    _root, migrations, database = project
    os.remove(os.path.join(migrations, "V2__seed.sql"))
    with open(os.path.join(migrations, "V2__backfill.sql"), "w") as handle:
        handle.write(SLOW_NO_TRANSACTION)
    child = multiprocessing.get_context("fork").Process(target=_migrate_in_child, args=(database, migrations))
    child.start()
    try:
        deadline = time.monotonic() + 30
        while not (os.path.exists(database) and _names(database) == ["first"]):
            assert child.is_alive() and time.monotonic() < deadline, "the migration never reached its first insert"
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)  # half-way: the first insert committed, the second not run
    finally:
        child.join(10)
    assert child.exitcode == -signal.SIGKILL
    with pytest.raises(ValidationError) as stopped:
        migrate(driver(database), migrations)
    message = stopped.value.msg
    assert message.startswith("V2__backfill.sql (version 2) did not complete on an earlier run")
    assert 'DELETE FROM "conveyor_schema_history" WHERE installed_rank = 2;' in message and "\n" not in message
    assert _names(database) == ["first"] and rows(database) == [("1", "versioned", 1), ("2", "versioned", 0)]
    with pytest.raises(ValidationError, match=r"^V2__backfill\.sql \(version 2\) did not complete"):
        migrate(driver(database), migrations, check_mode=True)
    info = inspect(driver(database), migrations)
    assert [(f["script"], f["installed_rank"]) for f in info["failed_migrations"]] == [("V2__backfill.sql", 2)]
    assert info["current_version"] == "1" and [p["version"] for p in info["pending"]] == ["2"]
    assert info["problems"] == [message.split("; nothing was applied")[0]]
    # the documented repair: fix the schema by hand, delete the row, run again
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM items")
        conn.execute('DELETE FROM "conveyor_schema_history" WHERE installed_rank = 2')
    with open(os.path.join(migrations, "V2__backfill.sql"), "w") as handle:
        handle.write(SLOW_NO_TRANSACTION.replace("30000000", "10"))
    assert [a["version"] for a in migrate(driver(database), migrations)["applied"]] == ["2"]
    assert _names(database) == ["first", "second"] and rows(database)[-1] == ("2", "versioned", 1)


def test_failed_no_transaction_migration_is_recorded_and_changed(project):
    _root, migrations, database = project
    with open(os.path.join(migrations, "V3__half.sql"), "w") as handle:
        handle.write(
            "-- conveyor:no-transaction\nINSERT INTO items (name) VALUES ('kept');\nINSERT INTO nowhere VALUES (1);\n"
        )
    with pytest.raises(MigrationFailed) as failure:
        migrate(driver(database), migrations, placeholders={"first": "a"})
    assert failure.value.msg.startswith("V3__half.sql failed at line 3: no such table: nowhere")
    assert "recorded with success false (installed_rank 3)" in failure.value.msg
    assert failure.value.details["changed"] is True
    assert rows(database) == [("1", "versioned", 1), ("2", "versioned", 1), ("3", "versioned", 0)]


def _names(database):
    with sqlite3.connect(database, timeout=30) as conn:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items'").fetchone():
            return []
        return [name for (name,) in conn.execute("SELECT name FROM items ORDER BY id")]


def _hold_write_lock(database, seconds, locked: threading.Event):
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")  # what a long write by another connection holds while it runs
    locked.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


def test_a_run_waits_for_another_connections_write_lock_up_to_lock_timeout(project):
    _root, migrations, database = project
    sqlite3.connect(database).close()
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(database, 6, locked))  # longer than sqlite3's 5s
    holder.start()
    locked.wait(10)
    started = time.monotonic()
    try:
        result = migrate(driver(database), migrations, placeholders={"first": "a"}, lock_timeout=30)
    finally:
        holder.join()
    assert time.monotonic() - started >= 4 and [a["version"] for a in result["applied"]] == ["1", "2"]


def test_a_write_lock_held_past_lock_timeout_fails_with_one_clear_line(project):
    _root, migrations, database = project
    sqlite3.connect(database).close()
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(database, 4, locked))
    holder.start()
    locked.wait(10)
    started = time.monotonic()
    try:
        with pytest.raises(ConveyorError) as failure:
            migrate(driver(database), migrations, placeholders={"first": "a"}, lock_timeout=1)
        waited = time.monotonic() - started
    finally:
        holder.join()
    assert 0.9 <= waited < 3.5
    assert failure.value.msg == (
        f"SQLite open failed for {database}: database is locked: another connection (a migration run, or the "
        "application) held a lock on it for more than 1s; wait for it to finish, or raise lock_timeout"
    )
