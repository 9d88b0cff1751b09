"""Shared fixtures: the collection on sys.path, and real servers started once per session."""

from __future__ import annotations

import sys

import pytest

from tests.support.paths import COLLECTIONS, ROOT

if not (COLLECTIONS / "ansible_collections" / "conveyor" / "cicd").exists():
    raise SystemExit("run `make test` (or scripts/bootstrap.sh test) first: the collection link is missing")
sys.path.insert(0, str(COLLECTIONS))


@pytest.fixture(scope="session")
def repo_root():
    return ROOT


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on 127.0.0.1 for the whole test session."""
    from tests.support.servers import start_postgres, stop_postgres

    server = start_postgres()
    yield server
    stop_postgres(server)
