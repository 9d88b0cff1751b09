# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sha256 of files, trees and structured values; cache keys. Files are read in chunks."""

from __future__ import annotations

import hashlib
import json
import os

CHUNK = 1024 * 1024


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value) -> bytes:
    """Stable serialisation: sorted keys, no whitespace variance."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_value(value) -> str:
    return sha256_bytes(canonical_json(value))


def file_record(path: str, relative_to: str | None = None) -> dict:
    """{path, sha256, size} for one file; path relative to ``relative_to`` when given."""
    st = os.stat(path)
    shown = os.path.relpath(path, relative_to) if relative_to else path
    return {"path": shown, "sha256": sha256_file(path), "size": st.st_size}


def files_digest(root: str, relpaths) -> str:
    """One digest over a set of files: their relative paths, executable bit and contents."""
    digest = hashlib.sha256()
    for rel in sorted(set(relpaths)):
        full = os.path.join(root, rel)
        if os.path.isfile(full):
            mode = "x" if os.access(full, os.X_OK) else "-"
            content = sha256_file(full)
        else:  # a symlink to a directory, or one that points nowhere: its target is what it holds
            mode, content = "l", sha256_bytes(os.readlink(full).encode("utf-8", "surrogateescape"))
        digest.update(rel.encode("utf-8") + b"\0" + mode.encode() + b"\0" + content.encode() + b"\n")
    return digest.hexdigest()
