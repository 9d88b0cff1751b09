"""Fixtures for the app_rollout integration tests: release artifacts and a local deploy target."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.rollout import make_release, stop_app
from tests.support.servers import free_port


@pytest.fixture(scope="session")
def releases(tmp_path_factory):
    """Sample-app artifacts: 1.0.0, 2.0.0, 3.0.0 and a broken 9.9.9 (every request answers 500)."""
    directory = tmp_path_factory.mktemp("rollout-artifacts")
    built = {v: make_release(directory, v) for v in ("1.0.0", "2.0.0", "3.0.0")}
    built["broken"] = make_release(directory, "9.9.9", broken=True)
    return built


@dataclass
class Target:
    root: Path
    port: int
    roots: list = field(default_factory=list)


@pytest.fixture
def target(tmp_path):
    """A deploy root and a free port; the app started there is stopped afterwards."""
    spot = Target(root=tmp_path / "deploy", port=free_port())
    yield spot
    stop_app(spot.root)
