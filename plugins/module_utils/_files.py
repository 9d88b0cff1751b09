# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File selection by glob, tree snapshots, JSON reads and tree copies (whole-file writes live in _atomic)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil

from ansible_collections.conveyor.cicd.plugins.module_utils._digest import sha256_file
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError

# Directories that never hold inputs: version control, virtualenvs and tool caches.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".conveyor",
        ".mypy_cache",
        ".tox",
        ".nox",
        ".eggs",
    }
)


def _glob_to_regex(pattern: str) -> re.Pattern:
    """Translate a glob with ``**`` (any number of directories) into a regex over relative paths."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        else:
            char = pattern[i]
            if char == "*":
                out.append("[^/]*")
            elif char == "?":
                out.append("[^/]")
            elif char == "[":
                end = pattern.find("]", i + 1)
                if end < 0:
                    raise ConfigurationError(f"glob '{pattern}' has an unclosed '[': close it or escape it")
                out.append(fnmatch.translate(pattern[i : end + 1])[4:-3])
                i = end
            else:
                out.append(re.escape(char))
            i += 1
    return re.compile("^" + "".join(out) + r"\Z")


def compile_globs(patterns) -> list[re.Pattern]:
    if patterns is None:
        return []
    if isinstance(patterns, str):
        patterns = [patterns]
    compiled = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise ConfigurationError(f"glob patterns must be non-empty strings, got {pattern!r}")
        pattern = pattern.lstrip("./") if pattern.startswith("./") else pattern
        if pattern.startswith("/") or pattern.split("/")[0] == "..":
            raise ConfigurationError(
                f"glob '{pattern}' must be relative to the directory, without a leading '/' or '..'"
            )
        # a pattern naming a directory selects everything below it
        compiled.append(_glob_to_regex(pattern))
        compiled.append(_glob_to_regex(pattern.rstrip("/") + "/**"))
    return compiled


def matches(relpath: str, compiled: list[re.Pattern]) -> bool:
    return any(rx.match(relpath) for rx in compiled)


def walk_files(root: str, skip_dirs=SKIP_DIRS):
    """Yield relative paths of regular files (and symlinks) below root, sorted, skipping tool directories."""
    for dirpath, dirnames, filenames in os.walk(root):
        # *.egg-info is written into the source tree by setuptools builds: a by-product, never an input
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.endswith(".egg-info"))
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            yield name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")


def select_files(root: str, include=None, exclude=None) -> list[str]:
    """Relative paths under root matched by ``include`` (default: everything) and not by ``exclude``."""
    if not os.path.isdir(root):
        raise ConfigurationError(f"directory '{root}' does not exist")
    inc = compile_globs(include) if include else None
    exc = compile_globs(exclude)
    return sorted(p for p in walk_files(root) if (inc is None or matches(p, inc)) and not matches(p, exc))


def snapshot(root: str, relpaths) -> dict[str, str]:
    """{relpath: sha256} for the files that exist."""
    out = {}
    for rel in relpaths:
        full = os.path.join(root, rel)
        if os.path.isfile(full):
            out[rel] = sha256_file(full)
    return out


def read_json(path: str, default=None):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return default
    except (ValueError, UnicodeDecodeError):
        return default  # a damaged cache entry behaves as a miss


def copy_tree(src: str, dst: str) -> None:
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(*SKIP_DIRS))
