# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The driver interface: what the planner and the runner need from a database.

A driver knows how to connect, read and write the history table, hold the migration lock
and run one migration's SQL. It knows nothing about versions or plans, so adding a
database (MySQL, say) means one new module here and one entry in ``engine.DRIVERS``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError

DEFAULT_HISTORY_TABLE = "conveyor_schema_history"
DEFAULT_LOCK_TIMEOUT = 60.0
HISTORY_COLUMNS = (
    "installed_rank",
    "version",
    "description",
    "type",
    "script",
    "checksum",
    "installed_by",
    "installed_on",
    "execution_time_ms",
    "success",
)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}\Z")


class LockTimeoutError(ConveyorError):
    """Another run held the migration lock for longer than lock_timeout."""


class StatementError(Exception):
    """A statement failed inside the database: its message and, where known, the line in the script."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class HistoryRow:
    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: str | None
    installed_by: str
    installed_on: str | None
    execution_time_ms: int
    success: bool

    def as_dict(self) -> dict:
        return asdict(self)


def validate_identifier(value: str, what: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise ConfigurationError(
            f"{what} '{value}' is not a valid identifier: use letters, digits and underscores, "
            "starting with a letter or underscore, at most 63 characters"
        )
    return value


class Driver:
    """Base class. Subclasses implement every method that raises NotImplementedError."""

    engine = "abstract"

    def __init__(self, history_table: str = DEFAULT_HISTORY_TABLE):
        self.history_table = validate_identifier(history_table or DEFAULT_HISTORY_TABLE, "history_table")

    # connection -----------------------------------------------------------------------------
    def describe(self) -> str:
        """Where the migrations go, without any secret (for messages and results)."""
        raise NotImplementedError

    def open(self, read_only: bool, timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        """Connect. A read-only connection must not create or change anything.

        ``timeout``: seconds any statement may wait for a lock another connection holds, before it fails.
        """
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def current_user(self) -> str:
        raise NotImplementedError

    # history -------------------------------------------------------------------------------
    @property
    def qualified_table(self) -> str:
        """The history table as SQL names it (quoted, with its schema where there is one)."""
        return f'"{self.history_table}"'

    def history_exists(self) -> bool:
        raise NotImplementedError

    def read_history(self) -> list[HistoryRow]:
        """Every row ordered by installed_rank; [] when the table does not exist."""
        raise NotImplementedError

    def ensure_history(self) -> None:
        """Create the history table (and schema) if missing."""
        raise NotImplementedError

    def insert_history(self, row: HistoryRow) -> int:
        """Record one row in its own, committed transaction; return its installed_rank."""
        raise NotImplementedError

    def finish_history(self, installed_rank: int, execution_time_ms: int, success: bool) -> None:
        """Set the outcome of a row recorded before its migration ran (no-transaction migrations)."""
        raise NotImplementedError

    # running ------------------------------------------------------------------------------
    def lock(self, timeout: float):
        """A context manager holding the exclusive migration lock; LockTimeoutError after ``timeout`` seconds."""
        raise NotImplementedError

    def run_in_transaction(self, sql: str, row: HistoryRow) -> None:
        """Run ``sql`` and insert ``row`` in one transaction; roll back and raise StatementError on failure."""
        raise NotImplementedError

    def run_statements(self, sql: str) -> None:
        """Run ``sql`` statement by statement outside any transaction; raise StatementError on failure."""
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
