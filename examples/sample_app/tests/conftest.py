"""Test setup: the app's ``src`` on sys.path (no install needed) and migration helpers."""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

import pytest

APP_ROOT = Path(__file__).resolve().parents[1]
SRC = APP_ROOT / "src"
MIGRATIONS = APP_ROOT / "migrations"

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

_MIGRATION_NAME = re.compile(r"^(?P<kind>[VU])(?P<version>\d+)__(?P<description>\w+)\.sql$")


def migration_files(kind: str = "V") -> list[Path]:
    """The migration files of one kind (V = apply, U = undo), in version order."""
    found = []
    for path in MIGRATIONS.glob("*.sql"):
        match = _MIGRATION_NAME.match(path.name)
        if match and match["kind"] == kind:
            found.append((int(match["version"]), path))
    return [path for _version_number, path in sorted(found)]


def _version(path: Path) -> int:
    return int(_MIGRATION_NAME.match(path.name)["version"])


def run_sql_files(database: str, files: list[Path]) -> None:
    """Run whole SQL files, one transaction each, against a SQLite path or a PostgreSQL DSN."""
    if database.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(database) as connection:
            for path in files:
                with connection.transaction():
                    connection.execute(path.read_text(encoding="utf-8"))
        return
    connection = sqlite3.connect(database)
    try:
        for path in files:
            connection.executescript(f"BEGIN;\n{path.read_text(encoding='utf-8')}\nCOMMIT;")
    finally:
        connection.close()


@pytest.fixture
def apply_migrations():
    """apply_migrations(database, upto=None, start=1): run the V files in version order."""

    def apply(database: str, upto: int | None = None, start: int = 1) -> list[str]:
        files = [
            path
            for path in migration_files("V")
            if start <= _version(path) and (upto is None or _version(path) <= upto)
        ]
        run_sql_files(database, files)
        return [path.name for path in files]

    return apply


@pytest.fixture
def undo_migration():
    """undo_migration(database, version): run the U file of one version."""

    def undo(database: str, version: int) -> str:
        files = [path for path in migration_files("U") if _version(path) == version]
        assert files, f"no undo migration U{version}__*.sql in {MIGRATIONS}"
        run_sql_files(database, files)
        return files[0].name

    return undo


@pytest.fixture
def migrated_sqlite(tmp_path, apply_migrations) -> str:
    """A temporary SQLite database with every migration applied."""
    path = str(tmp_path / "sample_app.db")
    apply_migrations(path)
    return path
