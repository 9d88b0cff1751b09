# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content-addressed caches: keys from inputs, result records and output trees that appear atomically."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_write_json
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import files_digest, sha256_value
from ansible_collections.conveyor.cicd.plugins.module_utils._files import read_json, select_files

STALE_AGE = 3600  # seconds after which a temporary entry is taken to be left by a killed run
KEY_VERSION = 1  # bump when the key recipe changes, so old entries stop matching


def inputs_digest(root: str, include, exclude=None, source: str = "tree", skip=()) -> tuple[str, int]:
    """Digest of the files under root matched by the globs among those of ``source`` ("tree" or "git"), leaving
    out ``exclude`` (globs) and ``skip`` (paths the caller writes itself), and how many files there were."""
    files = select_files(root, include, exclude, source=source, skip=skip)
    return files_digest(root, files), len(files)


def cache_key(kind: str, **parts) -> str:
    """sha256 over a kind and any JSON-serialisable parts (steps, env, input digests)."""
    return sha256_value({"kind": kind, "v": KEY_VERSION, **parts})


class ResultCache:
    """Stores one JSON record per key under ``<cache_dir>/<kind>/<key[:2]>/<key>.json``."""

    def __init__(self, cache_dir: str, kind: str):
        self.base = os.path.join(cache_dir, kind)

    def path(self, key: str) -> str:
        return os.path.join(self.base, key[:2], f"{key}.json")

    def get(self, key: str):
        return read_json(self.path(key))

    def put(self, key: str, record) -> None:
        atomic_write_json(self.path(key), record)


class TreeCache:
    """Stores a set of output files per key under ``<cache_dir>/<kind>/<key>/``.

    An entry is written to a temporary directory and renamed into place, so an entry either
    exists whole (with its ``.entry.json`` record) or not at all.
    """

    RECORD = ".entry.json"

    def __init__(self, cache_dir: str, kind: str):
        self.base = os.path.join(cache_dir, kind)

    def entry_dir(self, key: str) -> str:
        return os.path.join(self.base, key)

    def get(self, key: str):
        record = read_json(os.path.join(self.entry_dir(key), self.RECORD))
        if not record:
            return None
        for item in record.get("outputs", []):
            if not os.path.isfile(os.path.join(self.entry_dir(key), "files", item["path"])):
                return None
        return record

    def put(self, key: str, root: str, outputs: list[dict], record: dict) -> None:
        os.makedirs(self.base, exist_ok=True)
        self._clean_stale()
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=self.base)
        try:
            for item in outputs:
                target = os.path.join(tmp, "files", item["path"])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(os.path.join(root, item["path"]), target)
            atomic_write_json(os.path.join(tmp, self.RECORD), dict(record, outputs=outputs))
            final = self.entry_dir(key)
            if self.get(key) is not None:  # a concurrent run stored the same key (same inputs): keep that one
                shutil.rmtree(tmp, ignore_errors=True)
                return
            if os.path.isdir(final):  # a damaged entry: out of the way in one rename, then removed
                aside = tempfile.mkdtemp(prefix=".old-", dir=self.base)
                with contextlib.suppress(FileNotFoundError):
                    os.rename(final, os.path.join(aside, "entry"))
                shutil.rmtree(aside, ignore_errors=True)
            try:
                os.rename(tmp, final)
            except OSError as exc:
                if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY) or self.get(key) is None:
                    raise
                shutil.rmtree(tmp, ignore_errors=True)  # another writer won the rename with a whole entry
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _clean_stale(self) -> None:
        """Remove what killed runs left (``.tmp-*``, ``.old-*`` older than STALE_AGE); never a live writer's."""
        cutoff = time.time() - STALE_AGE
        for name in os.listdir(self.base):
            path = os.path.join(self.base, name)
            if name.startswith((".tmp-", ".old-")):
                with contextlib.suppress(OSError):
                    if os.lstat(path).st_mtime < cutoff:
                        shutil.rmtree(path, ignore_errors=True)

    def file_path(self, key: str, relpath: str) -> str:
        return os.path.join(self.entry_dir(key), "files", relpath)
