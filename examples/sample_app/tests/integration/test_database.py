"""The database layer and the HTTP routes that use it, against real SQLite and PostgreSQL."""

import io
import json
from pathlib import Path

import pytest

from sample_app.db import DatabaseError, TableMissingError, open_database
from sample_app.logs import setup_logging
from sample_app.server import App

SEED_NAMES = ["conveyor belt", "parcel scanner", "sorting gate"]


def make_app(database: str) -> App:
    return App(open_database(database), setup_logging(None, stream=io.StringIO()), commit="abc1234")


def test_ping_succeeds_on_a_reachable_database(empty_database):
    open_database(empty_database).ping()


def test_items_before_migrations_says_to_run_them(empty_database):
    with pytest.raises(TableMissingError, match="run the migrations first"):
        open_database(empty_database).list_items()
    status, _content_type, body = make_app(empty_database).route("GET", "/items")
    assert status == 503
    assert json.loads(body) == {"error": "table items does not exist: run the migrations first"}


def test_items_after_v1_is_an_empty_list(empty_database, apply_migrations):
    assert apply_migrations(empty_database, upto=1) == ["V1__create_items.sql"]
    assert open_database(empty_database).list_items() == []


def test_items_after_all_migrations_are_the_seed_rows(empty_database, apply_migrations):
    apply_migrations(empty_database)
    items = open_database(empty_database).list_items()
    assert [item["name"] for item in items] == SEED_NAMES
    assert [item["id"] for item in items] == [1, 2, 3]
    assert set(items[0]) == {"id", "name", "description", "price_cents"}
    assert items[0]["price_cents"] == 129900


def test_undo_of_v2_removes_the_seed_rows_and_the_price_column(empty_database, apply_migrations, undo_migration):
    apply_migrations(empty_database)
    database = open_database(empty_database)
    assert len(database.list_items()) == 3
    assert undo_migration(empty_database, 2) == "U2__add_item_price_and_seed.sql"
    assert database.list_items() == []
    # After the undo V2 applies again: the pair is a clean round trip.
    assert apply_migrations(empty_database, start=2) == ["V2__add_item_price_and_seed.sql"]
    assert [item["name"] for item in database.list_items()] == SEED_NAMES


def test_http_routes_read_the_database(empty_database, apply_migrations):
    apply_migrations(empty_database)
    app = make_app(empty_database)
    status, content_type, body = app.route("GET", "/healthz")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"status": "ok", "database": "ok"}
    status, _content_type, body = app.route("GET", "/items")
    assert status == 200
    assert [item["name"] for item in json.loads(body)["items"]] == SEED_NAMES


def test_unreachable_sqlite_database_is_reported_degraded(tmp_path):
    missing_dir = Path(tmp_path) / "no" / "such" / "dir" / "app.db"
    database = open_database(str(missing_dir))
    with pytest.raises(DatabaseError, match="unable to open database file"):
        database.ping()
    status, _content_type, body = make_app(str(missing_dir)).route("GET", "/healthz")
    assert status == 503
    payload = json.loads(body)
    assert payload["status"] == "degraded"
    assert "unable to open database file" in payload["database"]


def test_unreachable_postgresql_is_reported_without_the_password():
    pytest.importorskip("psycopg", reason="psycopg is not installed (PostgreSQL support is optional)")
    dsn = "postgresql://app:very-secret-password@127.0.0.1:1/app?connect_timeout=2"
    status, _content_type, body = make_app(dsn).route("GET", "/healthz")
    assert status == 503
    payload = json.loads(body)
    assert payload["status"] == "degraded"
    assert payload["database"].startswith("postgresql: ")
    assert "very-secret-password" not in body.decode()
