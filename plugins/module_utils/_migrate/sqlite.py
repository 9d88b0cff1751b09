# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQLite driver (standard library). ``database`` is a file path.

Concurrent runs are serialised by an exclusive ``flock`` on ``<database>.migrate.lock``: the
kernel releases it when the holder dies, so a killed run never leaves a stale lock. Each
migration then runs in its own ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import sqlite3
import time
from contextlib import contextmanager
from urllib.parse import quote

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.driver import (
    HISTORY_COLUMNS,
    Driver,
    HistoryRow,
    LockTimeoutError,
    StatementError,
    one_line,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.statements import split_sqlite

LOCK_SUFFIX = ".migrate.lock"


class SQLiteDriver(Driver):
    engine = "sqlite"

    def __init__(self, database: str, history_table: str | None = None):
        super().__init__(history_table)
        if not database:
            raise ConfigurationError("engine sqlite needs 'database': the path of the SQLite database file")
        self.database = os.path.abspath(os.path.expanduser(database))
        self.conn: sqlite3.Connection | None = None

    def describe(self) -> str:
        return f"sqlite:{self.database}"

    def _fail(self, action: str, exc: Exception) -> ConveyorError:
        return ConveyorError(f"SQLite {action} failed for {self.database}: {one_line(exc)}")

    def open(self, read_only: bool) -> None:
        if read_only:
            if not os.path.exists(self.database):
                return  # nothing applied yet; never create the file in a read-only run
            uri = f"file:{quote(self.database)}?mode=ro"
            target, kwargs = uri, {"uri": True}
        else:
            parent = os.path.dirname(self.database)
            if not os.path.isdir(parent):
                raise ConfigurationError(f"the directory of database '{self.database}' does not exist: create {parent}")
            target, kwargs = self.database, {}
        try:
            self.conn = sqlite3.connect(target, isolation_level=None, timeout=5, **kwargs)
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            self.close()
            raise self._fail("open", exc) from None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def current_user(self) -> str:
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"

    def history_exists(self) -> bool:
        if self.conn is None:
            return False
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.history_table,)
        ).fetchone()
        return row is not None

    def read_history(self) -> list[HistoryRow]:
        if not self.history_exists():
            return []
        try:
            rows = self.conn.execute(
                f'SELECT {", ".join(HISTORY_COLUMNS)} FROM "{self.history_table}" ORDER BY installed_rank'
            ).fetchall()
        except sqlite3.Error as exc:
            raise self._fail(f"reading the history table {self.history_table}", exc) from None
        return [HistoryRow(*row[:9], bool(row[9])) for row in rows]

    def ensure_history(self) -> None:
        try:
            self.conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{self.history_table}" ('
                "installed_rank INTEGER PRIMARY KEY, version TEXT, description TEXT NOT NULL, "
                "type TEXT NOT NULL, script TEXT NOT NULL, checksum TEXT, installed_by TEXT NOT NULL, "
                "installed_on TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), "
                "execution_time_ms INTEGER NOT NULL, success INTEGER NOT NULL)"
            )
        except sqlite3.Error as exc:
            raise self._fail(f"creating the history table {self.history_table}", exc) from None

    def _insert(self, row: HistoryRow) -> None:
        self.conn.execute(
            f'INSERT INTO "{self.history_table}" (installed_rank, version, description, type, script, checksum, '
            "installed_by, execution_time_ms, success) "
            f'SELECT COALESCE(MAX(installed_rank), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? FROM "{self.history_table}"',
            (row.version, row.description, row.type, row.script, row.checksum, row.installed_by,
             row.execution_time_ms, int(row.success)),
        )  # fmt: skip

    def insert_history(self, row: HistoryRow) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            self._insert(row)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._fail(f"writing the history table {self.history_table}", exc) from None

    def _rollback(self) -> None:
        if self.conn is not None and self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @contextmanager
    def lock(self, timeout: float):
        path = self.database + LOCK_SUFFIX
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + max(0.0, float(timeout))
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeoutError(
                            f"another migration run held the lock on {self.database} for more than {timeout}s: "
                            "wait for it to finish, or raise lock_timeout",
                            lock_file=path,
                        ) from None
                    time.sleep(0.05)
            self.conn.execute(f"PRAGMA busy_timeout = {int(max(1.0, float(timeout)) * 1000)}")
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _execute_all(self, sql: str) -> None:
        for line, statement in split_sqlite(sql):
            try:
                self.conn.execute(statement)
            except (sqlite3.Error, sqlite3.Warning) as exc:
                raise StatementError(one_line(exc), line) from None

    def run_in_transaction(self, sql: str, row: HistoryRow) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        try:
            self._execute_all(sql)
            row.execution_time_ms = int((time.monotonic() - started) * 1000)
            self._insert(row)
            self.conn.execute("COMMIT")
        except StatementError:
            self._rollback()
            raise
        except sqlite3.Error as exc:
            self._rollback()
            raise StatementError(one_line(exc)) from None

    def run_statements(self, sql: str) -> None:
        self._execute_all(sql)


def from_params(params: dict) -> SQLiteDriver:
    for key in ("login_host", "login_user", "login_password", "db", "dsn", "history_schema"):
        if params.get(key):
            raise ConfigurationError(f"'{key}' applies to engine postgresql only: remove it or set engine: postgresql")
    return SQLiteDriver(params.get("database"), params.get("history_table"))
