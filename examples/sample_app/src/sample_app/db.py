"""Database access: SQLite from the standard library, PostgreSQL through psycopg 3 if installed.

The app only reads. The ``items`` table comes from the migrations in ``migrations/``, which the
pipeline's migration stage applies; the app never changes the schema itself.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sample_app.config import is_postgresql_dsn, sqlite_path

ITEMS_QUERY = "SELECT * FROM items ORDER BY id"
CONNECT_TIMEOUT = 5


class DatabaseError(Exception):
    """The database cannot be reached or queried; the message is safe to show to clients."""


class TableMissingError(DatabaseError):
    """The ``items`` table does not exist yet."""

    def __init__(self, table: str = "items") -> None:
        super().__init__(f"table {table} does not exist: run the migrations first")


class MissingDriverError(RuntimeError):
    """psycopg is needed for a PostgreSQL DSN but is not installed."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


class SQLiteDatabase:
    kind = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        # One short-lived connection per call: sqlite3 connections belong to one thread.
        return sqlite3.connect(self.path, timeout=CONNECT_TIMEOUT)

    def ping(self) -> None:
        try:
            connection = self._connect()
            try:
                connection.execute("SELECT 1").fetchone()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise DatabaseError(f"sqlite {self.path}: {_one_line(exc)}") from exc

    def list_items(self) -> list[dict[str, Any]]:
        try:
            connection = self._connect()
            try:
                cursor = connection.execute(ITEMS_QUERY)
                columns = [column[0] for column in cursor.description]
                return [dict(zip(columns, row)) for row in cursor.fetchall()]
            finally:
                connection.close()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                raise TableMissingError() from exc
            raise DatabaseError(f"sqlite {self.path}: {_one_line(exc)}") from exc
        except sqlite3.Error as exc:
            raise DatabaseError(f"sqlite {self.path}: {_one_line(exc)}") from exc


def import_psycopg():
    try:
        # Imported here: psycopg is optional and only needed for PostgreSQL DSNs.
        import psycopg
    except ImportError as exc:
        raise MissingDriverError(
            "a postgresql:// database needs psycopg 3: "
            "pip install 'conveyor-sample-app[postgresql]' (or psycopg[binary])"
        ) from exc
    return psycopg


class PostgresDatabase:
    kind = "postgresql"

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._psycopg = import_psycopg()

    def _connect(self):
        return self._psycopg.connect(self.dsn, connect_timeout=CONNECT_TIMEOUT, autocommit=True)

    def ping(self) -> None:
        try:
            with self._connect() as connection:
                connection.execute("SELECT 1").fetchone()
        except self._psycopg.Error as exc:
            raise DatabaseError(f"postgresql: {_one_line(exc)}") from exc

    def list_items(self) -> list[dict[str, Any]]:
        errors = self._psycopg.errors
        try:
            with self._connect() as connection:
                cursor = connection.execute(ITEMS_QUERY)
                columns = [column.name for column in cursor.description]
                return [dict(zip(columns, row)) for row in cursor.fetchall()]
        except errors.UndefinedTable as exc:
            raise TableMissingError() from exc
        except self._psycopg.Error as exc:
            raise DatabaseError(f"postgresql: {_one_line(exc)}") from exc


def open_database(database: str):
    """The database object for a setting: a postgresql:// DSN or a SQLite path."""
    if is_postgresql_dsn(database):
        return PostgresDatabase(database)
    return SQLiteDatabase(sqlite_path(database))
