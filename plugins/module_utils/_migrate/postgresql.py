# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL driver (psycopg 3). Connect with ``dsn`` or with login_host/login_port/login_user/login_password/db.

Concurrent runs are serialised by a session advisory lock, which the server releases when
the holding connection ends, so a run killed half-way never leaves a stale lock.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

from ansible_collections.conveyor.cicd.plugins.module_utils._digest import sha256_bytes
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.driver import (
    DEFAULT_LOCK_TIMEOUT,
    HISTORY_COLUMNS,
    Driver,
    HistoryRow,
    LockTimeoutError,
    StatementError,
    validate_identifier,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.statements import line_at, split_postgresql
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import one_line

try:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    PSYCOPG_IMPORT_ERROR = None
except ImportError as _exc:  # the module reports it with require_library
    psycopg = None
    conninfo_to_dict = None
    PSYCOPG_IMPORT_ERROR = _exc

DEFAULT_SCHEMA = "public"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class PostgreSQLDriver(Driver):
    engine = "postgresql"

    def __init__(self, conninfo: dict, history_table: str | None = None, history_schema: str | None = None):
        super().__init__(history_table)
        self.history_schema = validate_identifier(history_schema or DEFAULT_SCHEMA, "history_schema")
        self.conninfo = {k: v for k, v in conninfo.items() if v not in (None, "")}
        self.secrets = [self.conninfo.get("password")]
        self.whole_secrets = [conninfo.get("_dsn")]  # masked where it is quoted whole
        self.conninfo.pop("_dsn", None)
        self.conn = None
        # one advisory lock per history table, so two applications sharing a database do not block each other
        digest = sha256_bytes(f"conveyor.cicd:{self.history_schema}.{self.history_table}".encode())
        self.lock_key = int(digest[:16], 16) - (1 << 63)

    @property
    def table(self) -> str:
        return f'"{self.history_schema}"."{self.history_table}"'

    @property
    def qualified_table(self) -> str:
        return self.table

    def describe(self) -> str:
        info = self.conninfo
        host = info.get("host") or "localhost"
        port = info.get("port") or 5432
        user = f"{info['user']}@" if info.get("user") else ""
        return f"postgresql://{user}{host}:{port}/{info.get('dbname') or ''}"

    def _message(self, exc: Exception) -> str:
        return one_line(exc, self.secrets, self.whole_secrets)

    def _fail(self, action: str, exc: Exception) -> ConveyorError:
        return ConveyorError(f"PostgreSQL {action} failed on {self.describe()}: {self._message(exc)}")

    def open(self, read_only: bool, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:  # the lock loop waits instead
        kwargs = dict(self.conninfo)
        kwargs.setdefault("application_name", "conveyor.cicd db_migrate")
        if read_only:  # the server itself refuses any write from this session
            kwargs["options"] = (kwargs.get("options", "") + " -c default_transaction_read_only=on").strip()
        try:
            self.conn = psycopg.connect(autocommit=True, **kwargs)
        except psycopg.Error as exc:
            raise ConveyorError(
                f"cannot connect to PostgreSQL at {self.describe()}: {self._message(exc)}; "
                "check the host, port, database name and credentials"
            ) from None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def current_user(self) -> str:
        return self.conn.execute("SELECT current_user").fetchone()[0]

    def history_exists(self) -> bool:
        row = self.conn.execute("SELECT to_regclass(%s)", (self.table,)).fetchone()
        return row[0] is not None

    def read_history(self) -> list[HistoryRow]:
        try:
            if not self.history_exists():
                return []
            rows = self.conn.execute(f"SELECT {', '.join(HISTORY_COLUMNS)} FROM {self.table} ORDER BY installed_rank")
            return [
                HistoryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7].isoformat() if r[7] else None, r[8], r[9])
                for r in rows.fetchall()
            ]
        except psycopg.Error as exc:
            raise self._fail(f"reading the history table {self.table}", exc) from None

    def ensure_history(self) -> None:
        try:
            with self.conn.transaction():
                if not self.conn.execute(
                    "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.history_schema,)
                ).fetchone():
                    self.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.history_schema}"')
                self.conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} ("
                    "installed_rank integer PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL, "
                    "type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum varchar(64), "
                    "installed_by varchar(100) NOT NULL, installed_on timestamptz NOT NULL DEFAULT now(), "
                    "execution_time_ms integer NOT NULL, success boolean NOT NULL)"
                )
        except psycopg.Error as exc:
            raise self._fail(f"creating the history table {self.table}", exc) from None

    def _insert(self, row: HistoryRow) -> int:
        return self.conn.execute(
            f"INSERT INTO {self.table} (installed_rank, version, description, type, script, checksum, installed_by, "
            "execution_time_ms, success) "
            f"SELECT COALESCE(MAX(installed_rank), 0) + 1, %s, %s, %s, %s, %s, %s, %s, %s FROM {self.table} "
            "RETURNING installed_rank",
            (row.version, row.description[:200], row.type, row.script, row.checksum, row.installed_by[:100],
             row.execution_time_ms, row.success),
        ).fetchone()[0]  # fmt: skip

    def insert_history(self, row: HistoryRow) -> int:
        try:
            with self.conn.transaction():
                return self._insert(row)
        except psycopg.Error as exc:
            raise self._fail(f"writing the history table {self.table}", exc) from None

    def finish_history(self, installed_rank: int, execution_time_ms: int, success: bool) -> None:
        try:
            self.conn.execute(
                f"UPDATE {self.table} SET execution_time_ms = %s, success = %s WHERE installed_rank = %s",
                (execution_time_ms, success, installed_rank),
            )
        except psycopg.Error as exc:
            raise self._fail(f"writing the history table {self.table}", exc) from None

    @contextmanager
    def lock(self, timeout: float):
        deadline = time.monotonic() + max(0.0, float(timeout))
        while not self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.lock_key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    f"another migration run held the lock on {self.describe()} ({self.table}) for more than "
                    f"{timeout}s: wait for it to finish, or raise lock_timeout"
                )
            time.sleep(0.1)
        try:
            yield
        finally:
            if self.conn is not None and not self.conn.closed:
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_key,))

    def _statement_error(self, exc, sql: str, offset: int = 0, line: int | None = None) -> StatementError:
        diag = getattr(exc, "diag", None)
        position = getattr(diag, "statement_position", None) if diag else None
        if position:
            line = line_at(sql, offset + int(position) - 1)
        primary = getattr(diag, "message_primary", None) if diag else None
        return StatementError(one_line(primary or exc, self.secrets, self.whole_secrets), line)

    def run_in_transaction(self, sql: str, row: HistoryRow) -> None:
        try:
            with self.conn.transaction():
                started = time.monotonic()
                try:
                    self.conn.execute(sql.encode("utf-8"))
                except psycopg.Error as exc:
                    raise self._statement_error(exc, sql) from None
                row.execution_time_ms = int((time.monotonic() - started) * 1000)
                self._insert(row)
        except psycopg.Error as exc:
            raise StatementError(self._message(exc)) from None

    def run_statements(self, sql: str) -> None:
        for line, statement in split_postgresql(sql):
            try:
                self.conn.execute(statement.encode("utf-8"))
            except psycopg.Error as exc:
                error = self._statement_error(exc, statement)
                error.line = line + (error.line - 1 if error.line else 0)
                raise error from None


def from_params(params: dict) -> PostgreSQLDriver:
    if params.get("database"):
        raise ConfigurationError("'database' applies to engine sqlite only: use 'db' (or 'dsn') for PostgreSQL")
    ssl_mode = params.get("ssl_mode")
    if ssl_mode and ssl_mode not in SSL_MODES:
        raise ConfigurationError(f"ssl_mode '{ssl_mode}' is not valid: use one of {', '.join(SSL_MODES)}")
    dsn = params.get("dsn")
    info: dict = {}
    if dsn:
        if any(params.get(k) for k in ("login_host", "login_user", "login_password", "db")):
            raise ConfigurationError(
                "give either 'dsn' or login_host/login_user/login_password/db, not both: the dsn already says where"
            )
        try:
            info = conninfo_to_dict(dsn)
        except psycopg.Error:
            raise ConfigurationError(
                "'dsn' is not a valid PostgreSQL connection string: use postgresql://user:password@host:port/db "
                "or 'host=... dbname=...'"
            ) from None
        info["_dsn"] = dsn
    else:
        if not params.get("db"):
            raise ConfigurationError("engine postgresql needs 'db' (the database name) or a 'dsn'")
        info = {
            "host": params.get("login_host") or "localhost",
            "port": params.get("login_port") or 5432,
            "user": params.get("login_user"),
            "password": params.get("login_password"),
            "dbname": params.get("db"),
        }
    if ssl_mode:
        info["sslmode"] = ssl_mode
    if params.get("connect_timeout"):
        info["connect_timeout"] = int(params["connect_timeout"])
    return PostgreSQLDriver(info, params.get("history_table"), params.get("history_schema"))
