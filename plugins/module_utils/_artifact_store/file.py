# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A repository in a local (or mounted) directory: ``file:///srv/artifacts``.

Writes go to a hidden temporary file in the target directory, are fsynced, then renamed into place,
so an interrupted upload never leaves anything under the final name.
"""

from __future__ import annotations

import errno
import os
import shutil
from urllib.parse import unquote, urlparse

from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store._base import (
    CHUNK,
    TEMP_MARK,
    ArtifactStore,
    ObjectInfo,
    StoreError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_output
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError


class FileStore(ArtifactStore):
    scheme = "file"

    def __init__(self, url: str, **options):
        super().__init__(url, retries=options.get("retries", 3), timeout=options.get("timeout", 60))
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise ConfigurationError(f"invalid file repository URL {url!r}: use file:///absolute/path")
        self.root = os.path.normpath(unquote(parsed.path))

    def _path(self, key: str) -> str:
        return os.path.join(self.root, *key.split("/"))

    def _write_atomic(self, key: str, source) -> None:
        final = self._path(key)
        with atomic_output(final, 0o644, prefix=f".{os.path.basename(final)}{TEMP_MARK}") as out:
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
