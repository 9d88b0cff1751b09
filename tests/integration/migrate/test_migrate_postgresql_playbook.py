"""conveyor.cicd.db_migrate and db_migrate_info on a real PostgreSQL, through real ansible-playbook runs."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.integration.migrate.conftest import kill_playbook_when, start_playbook
from tests.support.playbook import run_tasks

pytestmark = pytest.mark.integration


@pytest.fixture
def pg(postgres_server, request):
    """A fresh database per test, and module arguments that log in with the password user."""
    name = "mig_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    postgres_server.create_database(name)
    args = {
        "engine": "postgresql",
        "login_host": postgres_server.host,
        "login_port": postgres_server.port,
        "login_user": postgres_server.user,
        "login_password": postgres_server.password,
        "db": name,
    }
    return postgres_server, name, args


def sql(server, db, query):
    return server.psql(query, dbname=db).strip()


def history(server, db):
    out = sql(server, db, "SELECT coalesce(version, '-'), type, success FROM conveyor_schema_history ORDER BY 1, 2")
    return [tuple(line.split("|")) for line in out.splitlines()]


def test_check_apply_idempotent_and_the_password_never_shows(tmp_path, pg, migrations):
    server, db, args = pg
    task = {**args, "migrations_path": str(migrations), "secret_placeholders": {"first_item": "apple-secret"}}
    run = run_tasks(
        tmp_path,
        [
            {"name": "preview", "conveyor.cicd.db_migrate": task, "check_mode": True, "diff": True},
            {"name": "info before", "conveyor.cicd.db_migrate_info": {**args, "migrations_path": str(migrations)}},
            {"name": "apply", "conveyor.cicd.db_migrate": task, "diff": True},
            {"name": "apply again", "conveyor.cicd.db_migrate": task},
        ],
        env={"ANSIBLE_VERBOSITY": "3"},
    )
    assert run.rc == 0, run.output
    preview = run.result("preview")
    assert preview["changed"] is True and len(preview["planned"]) == 3
    assert "CREATE TABLE items" in preview["diff"]["prepared"]
    before = run.result("info before")
    assert before["history_exists"] is False and before["current_version"] is None and len(before["pending"]) == 3
    applied = run.result("apply")
    assert applied["changed"] is True and applied["current_version"] == "2"
    assert applied["database"] == f"postgresql://conveyor@127.0.0.1:{server.port}/{db}"
    assert run.result("apply again")["changed"] is False
    assert sql(server, db, "SELECT name FROM items") == "apple-secret"
    assert history(server, db) == [("-", "repeatable", "t"), ("1", "versioned", "t"), ("2", "versioned", "t")]
    assert server.password not in run.output
    assert "apple-secret" not in run.output


def test_check_mode_creates_no_history_table(tmp_path, pg, migrations):
    server, db, args = pg
    run = run_tasks(
        tmp_path,
        [
            {
                "name": "preview",
                "conveyor.cicd.db_migrate": {
                    **args,
                    "migrations_path": str(migrations),
                    "placeholders": {"first_item": "a"},
                },
            }
        ],
        check=True,
        diff=True,
    )
    assert run.rc == 0, run.output
    assert run.result("preview")["changed"] is True
    assert (
        sql(server, db, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
        == "0"
    )


def test_wrong_password_is_one_line_without_the_password(tmp_path, pg, migrations):
    server, db, _args = pg
    dsn = server.dsn(db).replace(server.password, "wrong-" + server.password)
    params = {"engine": "postgresql", "dsn": dsn, "migrations_path": str(migrations)}
    run = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params, "ignore_errors": True}],
                    env={"ANSIBLE_VERBOSITY": "3"})  # fmt: skip
    result = run.result("apply")
    assert result["failed"] is True and "password authentication failed" in result["msg"]
    assert result["msg"].startswith(f"cannot connect to PostgreSQL at postgresql://conveyor@127.0.0.1:{server.port}/")
    assert server.password not in run.output and "\n" not in result["msg"]


def test_failure_in_the_middle_names_file_line_and_database_message(tmp_path, pg, migrations):
    server, db, args = pg
    (migrations / "V3__broken.sql").write_text("CREATE TABLE half (id int);\n\nINSERT INTO no_such_table VALUES (1);\n")
    params = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}}
    run = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params, "ignore_errors": True}])
    result = run.result("apply")
    assert result["msg"].startswith('V3__broken.sql failed at line 3: relation "no_such_table" does not exist')
    assert result["failed_line"] == 3 and result["changed"] is True
    assert [a["version"] for a in result["applied"]] == ["1", "2"]
    assert history(server, db) == [("1", "versioned", "t"), ("2", "versioned", "t")]
    assert sql(server, db, "SELECT to_regclass('half') IS NULL") == "t"


def test_edited_and_missing_applied_files_stop_the_run(tmp_path, pg, migrations):
    server, db, args = pg
    params = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}}
    assert run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params}]).rc == 0
    original = (migrations / "V1__create_items.sql").read_text()
    (migrations / "V1__create_items.sql").write_text(original.replace("varchar(100)", "varchar(200)"))
    (migrations / "V3__new.sql").write_text("CREATE TABLE newer (id int);\n")
    edited = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params, "ignore_errors": True},
                                  {"name": "info", "conveyor.cicd.db_migrate_info": params}])  # fmt: skip
    msg = edited.result("apply")["msg"]
    assert msg.startswith("V1__create_items.sql changed after it was applied") and "nothing was applied" in msg
    assert edited.result("info")["problems"][0].startswith("V1__create_items.sql changed after it was applied")
    (migrations / "V1__create_items.sql").write_text(original)
    (migrations / "V2__add_price_and_seed.sql").unlink()
    missing = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params, "ignore_errors": True}])
    assert missing.result("apply")["msg"].startswith(
        "version 2 (V2__add_price_and_seed.sql) is applied but its file is missing"
    )
    assert sql(server, db, "SELECT to_regclass('newer') IS NULL") == "t"


def test_out_of_order_version_needs_the_flag(tmp_path, pg, migrations):
    _server, _db, args = pg
    (migrations / "V3__three.sql").write_text("CREATE TABLE three (id int);\n")
    params = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}}
    assert run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params}]).rc == 0
    (migrations / "V2.5__late.sql").write_text("CREATE TABLE late (id int);\n")
    run = run_tasks(
        tmp_path,
        [
            {"name": "refused", "conveyor.cicd.db_migrate": params, "ignore_errors": True},
            {"name": "allowed", "conveyor.cicd.db_migrate": {**params, "out_of_order": True}},
        ],
    )
    assert run.result("refused")["msg"].startswith("V2.5__late.sql is below the current version 3")
    allowed = run.result("allowed")
    assert [a["version"] for a in allowed["applied"]] == ["2.5"] and allowed["current_version"] == "3"


def test_undo_to_a_target_and_migrate_again(tmp_path, pg, migrations):
    server, db, args = pg
    params = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}}
    run = run_tasks(
        tmp_path,
        [
            {"name": "apply", "conveyor.cicd.db_migrate": params},
            {"name": "preview undo", "conveyor.cicd.db_migrate": {**params, "state": "rolled_back", "target": "0"},
             "check_mode": True},
            {"name": "undo to 1", "conveyor.cicd.db_migrate": {**params, "state": "rolled_back", "target": "1"}},
            {"name": "undo to 1 again", "conveyor.cicd.db_migrate": {**params, "state": "rolled_back", "target": "1"}},
        ],
    )  # fmt: skip
    assert run.rc == 0, run.output
    assert [p["script"] for p in run.result("preview undo")["planned"]] == [
        "U2__add_price_and_seed.sql",
        "U1__create_items.sql",
    ]
    undo = run.result("undo to 1")
    assert [(a["version"], a["type"]) for a in undo["applied"]] == [("2", "undo")]
    assert undo["current_version"] == "1" and run.result("undo to 1 again")["changed"] is False
    assert sql(server, db, "SELECT count(*) FROM information_schema.columns WHERE column_name = 'price'") == "0"
    again = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params}])
    assert [a["version"] for a in again.result("apply")["applied"]] == ["2"]


def test_baseline_on_an_existing_schema(tmp_path, pg, migrations):
    server, db, args = pg
    sql(server, db, f"CREATE TABLE items (id integer PRIMARY KEY, name varchar(100) NOT NULL); "
                    f"ALTER TABLE items OWNER TO {server.user}")  # fmt: skip
    params = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}}
    run = run_tasks(
        tmp_path,
        [
            {"name": "baseline", "conveyor.cicd.db_migrate": {**args, "state": "baselined", "baseline_version": "1"}},
            {"name": "baseline again", "conveyor.cicd.db_migrate": {**args, "state": "baselined", "baseline_version": "1"}},
            {"name": "apply", "conveyor.cicd.db_migrate": params},
        ],
    )  # fmt: skip
    assert run.rc == 0, run.output
    assert run.result("baseline")["changed"] is True and run.result("baseline")["current_version"] == "1"
    assert run.result("baseline again")["changed"] is False
    assert [a["script"] for a in run.result("apply")["applied"]] == ["V2__add_price_and_seed.sql", "R__items_view.sql"]
    assert ("1", "baseline", "t") in history(server, db)


def test_no_transaction_marker_allows_create_index_concurrently(tmp_path, pg, migrations):
    server, db, args = pg
    (migrations / "V3__index_names.sql").write_text(
        "-- conveyor:no-transaction\nCREATE INDEX CONCURRENTLY items_name ON items (name);\n"
        "CREATE INDEX CONCURRENTLY items_price ON items (price);\n"
    )
    params = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}, "history_schema": "ops"}
    run = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params}])
    assert run.rc == 0, run.output
    assert "3" in [a["version"] for a in run.result("apply")["applied"]]
    assert sql(server, db, "SELECT count(*) FROM pg_indexes WHERE indexname IN ('items_name', 'items_price')") == "2"
    assert sql(server, db, "SELECT count(*) FROM ops.conveyor_schema_history WHERE success") == "4"


def test_two_concurrent_playbooks_apply_each_migration_once(tmp_path, pg, migrations):
    server, db, args = pg
    (migrations / "V1.5__slow.sql").write_text("CREATE TABLE slow (id int);\nSELECT pg_sleep(3);\n")
    task = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}}
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "tasks": [{"name": "apply", "conveyor.cicd.db_migrate": task}]}]  # fmt: skip
    playbook = tmp_path / "concurrent.yml"
    playbook.write_text(yaml.safe_dump(play))
    procs = [start_playbook(playbook) for _round in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    results = [json.loads(out[out.index("{") :])["plays"][0]["tasks"][0]["hosts"]["localhost"] for out, _err in outputs]
    counts = sorted(len(r["applied"]) for r in results)
    assert counts == [0, 4]  # one run applied everything, the other waited for the lock and found nothing to do
    assert history(server, db) == [
        ("-", "repeatable", "t"),
        ("1", "versioned", "t"),
        ("1.5", "versioned", "t"),
        ("2", "versioned", "t"),
    ]


def test_killed_no_transaction_migration_stops_the_next_run(tmp_path, pg, migrations):
    server, db, args = pg
    (migrations / "V3__create_events.sql").write_text("CREATE TABLE events (n int);\n")
    (migrations / "V4__backfill_events.sql").write_text(
        "-- conveyor:no-transaction\nINSERT INTO events VALUES (1);\nSELECT pg_sleep(4);\nINSERT INTO events VALUES (2);\n"
    )
    params = {**args, "migrations_path": str(migrations), "placeholders": {"first_item": "a"}}
    playbook = tmp_path / "killed.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                         "tasks": [{"name": "apply", "conveyor.cicd.db_migrate": params}]}]))  # fmt: skip
    sleeping = (
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(4)%' "
        f"AND datname = '{db}'"
    )
    kill_playbook_when(start_playbook(playbook), lambda: sql(server, db, sleeping) == "1")  # after the 1st insert

    run = run_tasks(
        tmp_path,
        [
            {"name": "preview", "conveyor.cicd.db_migrate": params, "check_mode": True, "ignore_errors": True},
            {"name": "info", "conveyor.cicd.db_migrate_info": params},
            {"name": "apply again", "conveyor.cicd.db_migrate": params, "ignore_errors": True},
        ],
    )
    again = run.result("apply again")
    expected = (
        "V4__backfill_events.sql (version 4) did not complete on an earlier run: it ran outside a transaction and "
        "failed or was interrupted, so it may be partly applied; repair the schema by hand, then delete its history "
        'row with DELETE FROM "public"."conveyor_schema_history" WHERE installed_rank = 4; and run again'
    )
    assert again["failed"] is True and again["changed"] is False
    assert again["msg"] == expected + "; nothing was applied"
    assert run.result("preview")["failed"] is True and run.result("preview")["msg"] == again["msg"]
    info = run.result("info")
    assert info["problems"] == [expected] and info["current_version"] == "3"
    assert [(f["script"], f["installed_rank"]) for f in info["failed_migrations"]] == [("V4__backfill_events.sql", 4)]
    assert [p["script"] for p in info["pending"]] == ["V4__backfill_events.sql", "R__items_view.sql"]
    assert "Traceback" not in run.output and server.password not in run.output
    assert sql(server, db, "SELECT string_agg(n::text, ',') FROM events") == "1"  # not run again: no duplicate
    assert ("4", "versioned", "f") in history(server, db)
    assert ("-", "repeatable", "t") not in history(server, db)  # the killed run stopped before R__items_view.sql

    # the documented repair: finish (or undo) the file's work by hand, delete the row, run again
    sql(server, db, "DELETE FROM events; DELETE FROM conveyor_schema_history WHERE installed_rank = 4")
    repaired = run_tasks(tmp_path, [{"name": "apply", "conveyor.cicd.db_migrate": params}])
    assert repaired.rc == 0, repaired.output
    assert [a["script"] for a in repaired.result("apply")["applied"]] == [
        "V4__backfill_events.sql",
        "R__items_view.sql",
    ]
    assert sql(server, db, "SELECT string_agg(n::text, ',' ORDER BY n) FROM events") == "1,2"
