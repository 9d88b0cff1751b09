"""Where a benchmark keeps its results: one file per supported ansible-core version."""

from __future__ import annotations

import re
from pathlib import Path

from ansible.release import __version__ as ANSIBLE_CORE

ROOT = Path(__file__).resolve().parents[1]


def results_path(path: Path) -> Path:
    """``path`` for the default virtualenv's ansible-core (``default_ansible`` in scripts/matrix.sh),
    ``<stem>-ansible-<minor>.json`` for any other, so that each version keeps its own results."""
    minor = ".".join(ANSIBLE_CORE.split(".")[:2])
    default = re.search(r"^default_ansible=(\S+)", (ROOT / "scripts" / "matrix.sh").read_text(), re.MULTILINE)
    if default and default.group(1) == minor:
        return path
    return path.with_name(f"{path.stem}-ansible-{minor}{path.suffix}")
