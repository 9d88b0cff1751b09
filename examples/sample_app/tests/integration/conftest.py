"""Databases for the integration tests: a temporary SQLite file, and PostgreSQL when configured.

PostgreSQL: set SAMPLE_APP_TEST_POSTGRES_DSN to a database the user may create schemas in. Each
test gets a fresh schema (dropped afterwards) through the DSN's search_path option. Without the
variable these tests are skipped (the default database is SQLite), unless SAMPLE_APP_REQUIRE_POSTGRES=1:
then they fail, so a CI job meant to test PostgreSQL never passes by skipping.
"""

from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest

POSTGRES_DSN_VARIABLE = "SAMPLE_APP_TEST_POSTGRES_DSN"


def _postgres_required() -> bool:
    return os.environ.get("SAMPLE_APP_REQUIRE_POSTGRES", "").lower() in ("1", "true", "yes")


def _with_search_path(dsn: str, schema: str) -> str:
    separator = "&" if "?" in dsn else "?"
    return f"{dsn}{separator}options={quote(f'-c search_path={schema}')}"


@pytest.fixture
def postgres_dsn():
    """A DSN whose search_path is a new, empty schema; the schema is dropped afterwards."""
    dsn = os.environ.get(POSTGRES_DSN_VARIABLE)
    if not dsn:
        reason = f"{POSTGRES_DSN_VARIABLE} is not set: no PostgreSQL server to test against"
        if _postgres_required():
            pytest.fail(f"{reason} (SAMPLE_APP_REQUIRE_POSTGRES is set: these tests must run)")
        pytest.skip(reason)
    try:
        import psycopg
    except ImportError:
        pytest.fail("psycopg is not installed: pip install 'psycopg[binary]>=3.1'")
    schema = f"sample_app_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(dsn, schema)
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_database(tmp_path):
    return str(tmp_path / "sample_app.db")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_database(request):
    """An empty database (no tables) of each kind, as a SQLite path or a PostgreSQL DSN."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_database")
    return request.getfixturevalue("postgres_dsn")
