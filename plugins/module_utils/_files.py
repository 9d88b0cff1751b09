# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File selection by glob, tree snapshots, JSON reads and tree copies (whole-file writes live in _atomic)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil

from ansible_collections.conveyor.cicd.plugins.module_utils import _process
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import sha256_file
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    MissingDependencyError,
)

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


# Where the files that globs select from come from: every file under the directory, or the project's files as git
# sees them (tracked, plus untracked files that are not ignored).
INPUT_SOURCES = ("tree", "git")
# What Python builds write at the top of a project; a git work tree ignores them, the tree fallback leaves them out.
BUILD_BY_PRODUCTS = frozenset({"build", "dist"})
GIT_TIMEOUT = 120


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


def _in_skipped_dir(relpath: str) -> bool:
    return any(part in SKIP_DIRS or part.endswith(".egg-info") for part in relpath.split("/")[:-1])


def git_files(root: str) -> list[str] | None:
    """The files git lists for root (``git ls-files --cached --others --exclude-standard``): tracked ones, and
    untracked ones that are not ignored, relative to root, without the tool directories of SKIP_DIRS.

    A submodule stands for every file below it. Returns None when root is not in a git work tree or git is not
    installed; any other git failure is an error (a silent fallback could hide what the project ignores)."""
    argv = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    try:
        # stdout alone: a warning on stderr must never be read as a file name
        rc, out, err = _process.run_capture(
            argv, cwd=root, env={"LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}, timeout=GIT_TIMEOUT
        )
    except MissingDependencyError:
        return None
    except CommandError as exc:
        raise ConfigurationError(
            f"{exc.msg}: the files of '{root}' could not be listed; or set inputs_from: tree"
        ) from exc
    if rc != 0:
        if "not a git repository" in err:
            return None
        last = next((line.strip() for line in reversed(err.splitlines()) if line.strip()), "(no output)")
        raise ConfigurationError(
            f"git could not list the files of '{root}' (exit code {rc}): {last}; fix it or set inputs_from: tree"
        )
    found = set()
    for rel in out.split("\0"):
        if not rel or _in_skipped_dir(rel):
            continue
        full = os.path.join(root, rel)
        if os.path.isdir(full) and not os.path.islink(full):  # a submodule (or a nested repository)
            found.update(f"{rel.rstrip('/')}/{sub}" for sub in walk_files(full))
        elif os.path.lexists(full):  # a tracked file deleted from the work tree is no input
            found.add(rel)
    return sorted(found)


def source_files(root: str, source: str = "tree") -> list[str]:
    """The files globs select from. ``tree``: every file under root but the tool directories. ``git``: the files
    git lists (see git_files); outside a git work tree, or in a directory its repository ignores whole, the tree
    without the top-level ``build`` and ``dist`` directories that Python builds write."""
    if source not in INPUT_SOURCES:
        raise ConfigurationError(f"inputs_from must be one of {', '.join(INPUT_SOURCES)}, got {source!r}")
    if source == "git":
        listed = git_files(root)
        if listed:
            return listed
        return [p for p in walk_files(root) if "/" not in p or p.split("/", 1)[0] not in BUILD_BY_PRODUCTS]
    return list(walk_files(root))


def inside(root: str, paths) -> list[str]:
    """The paths (files or directories) that lie below root, relative to it: what a module writes itself."""
    base = os.path.abspath(root)
    out = []
    for path in paths:
        if not path:
            continue
        rel = os.path.relpath(os.path.abspath(path), base)
        if rel != "." and rel != os.pardir and not rel.startswith(os.pardir + os.sep):
            out.append(rel.replace(os.sep, "/"))
    return out


def select_files(root: str, include=None, exclude=None, source: str = "tree", skip=()) -> list[str]:
    """Relative paths under root matched by ``include`` (default: everything) and not by ``exclude``, among the
    files of ``source`` (see source_files); ``skip`` names files or directories (absolute, or relative to the
    current directory) that are never selected."""
    if not os.path.isdir(root):
        raise ConfigurationError(f"directory '{root}' does not exist")
    inc = compile_globs(include) if include else None
    exc = compile_globs(exclude)
    skipped = inside(root, skip)
    return sorted(
        p
        for p in source_files(root, source)
        if (inc is None or matches(p, inc))
        and not matches(p, exc)
        and not any(p == s or p.startswith(s + "/") for s in skipped)
    )


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
