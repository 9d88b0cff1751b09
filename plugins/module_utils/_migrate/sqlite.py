# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQLite driver (standard library). ``database`` is a file path.

Concurrent runs are serialised by an exclusive ``flock`` on ``<database>.migrate.lock``: the
kernel releases it when the holder dies, so a killed run never leaves a stale lock. Each
migration then runs in its own ``BEGIN IMMEDIATE`` transaction. The connection's busy timeout is
lock_timeout, and a writer reads the file only once it holds the flock, so a run never fails on
``database is locked`` while another one is still working.
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
    DEFAULT_LOCK_TIMEOUT,
    HISTORY_COLUMNS,
    Driver,
    HistoryRow,
    LockTimeoutError,
    StatementError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.statements import split_sqlite
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import one_line

LOCK_SUFFIX = ".migrate.lock"


def _is_busy(exc: Exception) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection's lock outlasted the busy timeout."""
    name = getattr(exc, "sqlite_errorname", "") or ""  # Python 3.11+; the message on older ones
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(exc)


class SQLiteDriver(Driver):
    engine = "sqlite"

    def __init__(self, database: str, history_table: str | None = None):
        super().__init__(history_table)
        if not database:
            raise ConfigurationError("engine sqlite needs 'database': the path of the SQLite database file")
        self.database = os.path.abspath(os.path.expanduser(database))
        self.conn: sqlite3.Connection | None = None
        self.timeout = DEFAULT_LOCK_TIMEOUT

    def describe(self) -> str:
        return f"sqlite:{self.database}"

    def _message(self, exc: Exception) -> str:
        message = one_line(exc)
        if _is_busy(exc):
            message += (
                f": another connection (a migration run, or the application) held a lock on it for more than "
                f"{self.timeout:g}s; wait for it to finish, or raise lock_timeout"
            )
        return message

    def _fail(self, action: str, exc: Exception) -> ConveyorError:
        return ConveyorError(f"SQLite {action} failed for {self.database}: {self._message(exc)}")

    def open(self, read_only: bool, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.timeout = max(0.0, float(timeout))
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
            # the busy timeout makes every statement wait for another connection's lock instead of failing at once
            self.conn = sqlite3.connect(target, isolation_level=None, timeout=self.timeout, **kwargs)
        except sqlite3.Error as exc:
            self.close()
            raise self._fail("open", exc) from None
        if read_only:
            self._probe()  # a writer reads the file only once it holds the migration lock (see lock)

    def _probe(self) -> None:
        """Read the schema once: fails early on a file that is not a database."""
        try:
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
        try:
            row = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.history_table,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise self._fail(f"reading the history table {self.history_table}", exc) from None
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

    def _insert(self, row: HistoryRow) -> int:
        cursor = self.conn.execute(
            f'INSERT INTO "{self.history_table}" (installed_rank, version, description, type, script, checksum, '
            "installed_by, execution_time_ms, success) "
            f'SELECT COALESCE(MAX(installed_rank), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? FROM "{self.history_table}"',
            (row.version, row.description, row.type, row.script, row.checksum, row.installed_by,
             row.execution_time_ms, int(row.success)),
        )  # fmt: skip
        return cursor.lastrowid  # installed_rank is the INTEGER PRIMARY KEY, so the rowid

    def insert_history(self, row: HistoryRow) -> int:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            rank = self._insert(row)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._fail(f"writing the history table {self.history_table}", exc) from None
        return rank

    def finish_history(self, installed_rank: int, execution_time_ms: int, success: bool) -> None:
        try:
            self.conn.execute(
                f'UPDATE "{self.history_table}" SET execution_time_ms = ?, success = ? WHERE installed_rank = ?',
                (execution_time_ms, int(success), installed_rank),
            )
        except sqlite3.Error as exc:
            raise self._fail(f"writing the history table {self.history_table}", exc) from None

    def _rollback(self) -> None:
        if self.conn is not None and self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @contextmanager
    def lock(self, timeout: float):
        path = self.database + LOCK_SUFFIX
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConveyorError(
                f"cannot open the migration lock file {path}: {exc.strerror}; the directory must be writable"
            ) from None
        try:
            deadline = time.monotonic() + max(0.0, float(timeout))
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockTimeoutError(
                            f"another migration run held the lock on {self.database} for more than {timeout:g}s: "
                            "wait for it to finish, or raise lock_timeout",
                            lock_file=path,
                        ) from None
                    time.sleep(0.05)
            self._probe()
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _execute_all(self, sql: str) -> None:
        for line, statement in split_sqlite(sql):
            try:
                self.conn.execute(statement)
            except (sqlite3.Error, sqlite3.Warning) as exc:
                raise StatementError(self._message(exc), line) from None

    def run_in_transaction(self, sql: str, row: HistoryRow) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StatementError(self._message(exc)) from None
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
            raise StatementError(self._message(exc)) from None

    def run_statements(self, sql: str) -> None:
        self._execute_all(sql)


def from_params(params: dict) -> SQLiteDriver:
    for key in ("login_host", "login_user", "login_password", "db", "dsn", "history_schema"):
        if params.get(key):
            raise ConfigurationError(f"'{key}' applies to engine postgresql only: remove it or set engine: postgresql")
    return SQLiteDriver(params.get("database"), params.get("history_table"))
