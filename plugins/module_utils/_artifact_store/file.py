# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A repository in a local (or mounted) directory: ``file:///srv/artifacts``.

Writes go to a hidden temporary file in the target directory, are fsynced, then renamed into place,
so an interrupted upload never leaves anything under the final name. ``create_bytes`` hard-links the
temporary file instead, which fails when the name exists: of two racing writers exactly one wins.
Locks are ``flock`` locks on a hidden lock file: the kernel releases them when their holder dies, so a
held lock always has a live holder. A temporary file older than ``stale_age`` is what a killed upload
left behind (a live one keeps writing to it, then renames it at once) and is removed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from urllib.parse import unquote, urlparse

from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store._base import (
    CHUNK,
    LOCK_SUFFIX,
    TEMP_MARK,
    ArtifactStore,
    ObjectInfo,
    StoreError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_output, is_temporary
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError


class FileStore(ArtifactStore):
    scheme = "file"

    def __init__(self, url: str, **options):
        super().__init__(url, **options)
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise ConfigurationError(f"invalid file repository URL {url!r}: use file:///absolute/path")
        self.root = os.path.normpath(unquote(parsed.path))
        self._locks: dict[str, int] = {}

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _write_atomic(self, key: str, source, exclusive: bool = False) -> None:
        final = self._path(key)
        with atomic_output(final, 0o644, prefix=f".{os.path.basename(final)}{TEMP_MARK}", exclusive=exclusive) as out:
            if isinstance(source, bytes):
                out.write(source)
            else:
                shutil.copyfileobj(source, out.file, CHUNK)

    def _upload(self, key, reader, sha256):
        reader.restart()
        self._write_atomic(key, reader)

    def _download(self, key, writer):
        try:
            with open(self._path(key), "rb") as handle:
                shutil.copyfileobj(handle, writer, CHUNK)
        except FileNotFoundError:
            raise StoreError(f"{self.url_for(key)} does not exist") from None

    def _head(self, key):
        try:
            st = os.stat(self._path(key))
        except FileNotFoundError:
            return None
        return ObjectInfo(key, st.st_size)

    def _list(self, prefix):
        base = self._path(prefix) if prefix else self.root
        keys = []
        for directory, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel = os.path.relpath(directory, self.root)
            for name in files:
                keys.append(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}")
        return keys

    def _delete(self, key):
        path = self._path(key)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        directory = os.path.dirname(path)
        while directory != self.root and directory.startswith(self.root):
            try:
                os.rmdir(directory)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    break
                raise
            directory = os.path.dirname(directory)

    def _put_bytes(self, key, data):
        self._write_atomic(key, data)

    def _get_bytes(self, key):
        try:
            with open(self._path(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def _create_bytes(self, key, data):
        try:
            self._write_atomic(key, data, exclusive=True)
        except FileExistsError:
            return False
        return True

    def _try_lock(self, key, data):
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64 * 1024, 0)
                os.close(fd)
                return False, holder, None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file its last holder unlinked while we waited for it
                os.ftruncate(fd, 0)
                os.pwrite(fd, data, 0)
                self._locks[key] = fd
                return True, None, None
            os.close(fd)

    def _break_lock(self, key, token):
        """Nothing to break: a held flock always has a live holder."""

    def _unlock(self, key):
        fd = self._locks.pop(key, None)
        if fd is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(key))
            os.close(fd)

    def _stale(self, prefix, cutoff):
        base = self._path(prefix) if prefix else self.root
        found = []
        for directory, _dirs, files in os.walk(base):
            rel = os.path.relpath(directory, self.root)
            for name in files:
                key = name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}"
                temporary = TEMP_MARK in name and is_temporary(name)
                if not (temporary or (name.startswith(".") and name.endswith(LOCK_SUFFIX))):
                    continue
                try:
                    if os.lstat(os.path.join(directory, name)).st_mtime >= cutoff:
                        continue
                except FileNotFoundError:
                    continue
                if temporary:
                    found.append((key, lambda key=key: self._delete(key)))
                elif not self._held_by_someone(key):
                    found.append((key, lambda key=key: self._remove_free_lock(key)))
        return found

    def _held_by_someone(self, key) -> bool:
        taken, _holder, _token = self._try_lock(key, b"")
        if taken:
            os.close(self._locks.pop(key))
        return not taken

    def _remove_free_lock(self, key):
        """Unlink a lock file left by a killed holder while holding it (takers check the inode they locked)."""
        taken, _holder, _token = self._try_lock(key, b"")
        if taken:
            self._unlock(key)
            self._delete_empty_parents(self._path(key))

    def _delete_empty_parents(self, path):
        directory = os.path.dirname(path)
        while directory != self.root and directory.startswith(self.root):
            try:
                os.rmdir(directory)
            except OSError:
                break
            directory = os.path.dirname(directory)
