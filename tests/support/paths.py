"""Where things are in a checkout."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"
VENV_BIN = Path(sys.executable).parent
SAMPLE_APP = ROOT / "examples" / "sample_app"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str, why: str = "") -> str:
    """Path of a binary the test needs. Missing: a failure under CI=true, a skip elsewhere."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}")):
        return str(candidate)
    message = f"'{name}' is not installed{': ' + why if why else ''} (run `make test` to install it)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError("unreachable")
