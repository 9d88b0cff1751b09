# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store interface shared by every backend, and the pieces they have in common.

A store holds objects under '/'-separated keys. Every object written through ``put`` gets a
``<key>.sha256`` sidecar (``sha256sum`` format) written after the object itself; sidecars and
in-progress temporary objects are internal and never listed. Uploads stream from a file and hash
while streaming; downloads go to a temporary file beside ``dest``, are verified, then renamed.

Concurrent writers: ``create_bytes`` writes an object only if its key is free (each backend's
conditional write), and ``try_lock`` takes a lock object that only one writer holds at a time. What
a killed writer leaves (temporary files, unfinished multipart uploads, locks) is removed by
``clean_stale`` once it is older than ``stale_age`` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass, field

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_output
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError

CHUNK = 1024 * 1024
SIDECAR = ".sha256"
TEMP_MARK = ".upload-"
SMALL_OBJECT_LIMIT = 64 * 1024 * 1024
STALE_AGE = 3600
LOCK_SUFFIX = ".lock"


class StoreError(ConveyorError):
    """The repository answered with an error, or could not be reached."""


class IntegrityError(StoreError):
    """Content does not match its recorded sha256 or size."""


class RetryableError(StoreError):
    """A transient failure (connection error, 5xx): worth another attempt."""


@dataclass
class ObjectInfo:
    key: str
    size: int
    sha256: str | None = None
    metadata: dict = field(default_factory=dict)
    server_side: bool = False


class HashingReader:
    """A read-only, non-seekable view of a file that hashes every byte handed out, in order."""

    def __init__(self, handle, size: int):
        self.handle = handle
        self.size = size
        self.restart()

    def restart(self) -> None:
        self.handle.seek(0)
        self._hash = hashlib.sha256()
        self.count = 0

    def read(self, amount: int = -1) -> bytes:
        data = self.handle.read(CHUNK if amount is None or amount < 0 else amount)
        self._hash.update(data)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def drain(self) -> None:
        """Read (and hash) the whole file; for backends that upload from the path in parallel."""
        self.restart()
        while self.read(CHUNK):
            pass


class HashingWriter:
    """A write-only, non-seekable file wrapper that hashes everything written, in order."""

    def __init__(self, handle):
        self.handle = handle
        self.restart()

    def restart(self) -> None:
        """Start over (a retried download): empty the file and the hash."""
        self.handle.seek(0)
        self.handle.truncate(0)
        self._hash = hashlib.sha256()
        self.count = 0

    def write(self, data) -> int:
        self._hash.update(data)
        self.count += len(data)
        return self.handle.write(data)

    def writable(self) -> bool:
        return True

    def absorb(self, offset: int, length: int) -> None:
        """Hash a range already written to the file by position (parallel downloads), in order."""
        fd = self.handle.fileno()
        end = offset + length
        while offset < end:
            block = os.pread(fd, min(CHUNK, end - offset), offset)
            if not block:
                raise IntegrityError("the downloaded file is shorter than the object")
            self._hash.update(block)
            self.count += len(block)
            offset += len(block)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def sidecar_text(sha256: str, filename: str) -> bytes:
    return f"{sha256}  {filename}\n".encode()


def parse_sidecar(data: bytes) -> str | None:
    words = data.decode("utf-8", "replace").split()
    if words and len(words[0]) == 64 and all(c in "0123456789abcdef" for c in words[0].lower()):
        return words[0].lower()
    return None


def is_internal(key: str) -> bool:
    base = key.rsplit("/", 1)[-1]
    return base.endswith(SIDECAR) or TEMP_MARK in base or base.startswith(".")


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\0" in key:
        raise ConfigurationError(f"invalid object key {key!r}: use relative '/'-separated names without '..'")
    return key


def retry_call(func, retries: int, what: str, base_delay: float = 0.5, max_delay: float = 8.0, sleep=time.sleep):
    """Call ``func()``; on RetryableError try again up to ``retries`` times with jittered exponential backoff."""
    attempt = 0
    while True:
        try:
            return func()
        except RetryableError as exc:
            if attempt >= retries:
                raise StoreError(f"{what} failed after {attempt + 1} attempts: {exc.msg}") from None
            delay = min(max_delay, base_delay * (2**attempt))
            sleep(random.uniform(delay / 2, delay))  # noqa: S311 - jitter, not cryptography
            attempt += 1


class ArtifactStore:
    """Backends implement the underscored primitives; the public methods add hashing, sidecars and checks."""

    scheme = ""

    def __init__(self, url: str, **options):
        """The options every backend takes: retries (3), timeout (60 s), stale_age; a backend reads its own."""
        self.url = url.rstrip("/")
        self.retries = max(0, int(options.get("retries", 3)))
        self.timeout = options.get("timeout", 60)
        stale_age = options.get("stale_age")
        self.stale_age = STALE_AGE if stale_age is None else int(stale_age)
        if self.stale_age < 0:
            raise ConfigurationError("stale_age must be 0 or more seconds")

    # --- backend primitives -------------------------------------------------------------
    def _upload(self, key: str, reader: HashingReader, sha256: str | None) -> None:
        raise NotImplementedError

    def _download(self, key: str, writer: HashingWriter) -> None:
        raise NotImplementedError

    def _head(self, key: str) -> ObjectInfo | None:
        raise NotImplementedError

    def _list(self, prefix: str) -> list[str]:
        raise NotImplementedError

    def _delete(self, key: str) -> None:
        raise NotImplementedError

    def _put_bytes(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def _get_bytes(self, key: str) -> bytes | None:
        raise NotImplementedError

    def _create_bytes(self, key: str, data: bytes) -> bool:
        """Write a small object only if ``key`` is free: True when written, False when it exists."""
        raise NotImplementedError

    def _try_lock(self, key: str, data: bytes) -> tuple[bool, bytes | None, object]:
        """Take the lock ``key`` (owner record ``data``): (True, None, None), or (False, the holder's record or
        None, a token naming the lock that was read, for ``_break_lock``)."""
        raise NotImplementedError

    def _break_lock(self, key: str, token) -> None:
        """Remove a lock whose holder is gone (older than ``stale_age``), if it is still the one read."""
        raise NotImplementedError

    def _unlock(self, key: str) -> None:
        raise NotImplementedError

    def _stale(self, prefix: str, cutoff: float) -> list[tuple[str, object]]:
        """(key, remove) for each temporary object under ``prefix`` last written before ``cutoff``."""
        return []

    def remove_directory(self, prefix: str) -> None:
        """Tidy up after deleting every object under ``prefix`` (only backends with real directories)."""

    def _server_copy(self, source: ArtifactStore, src_key: str, dest_key: str) -> bool:
        """Copy inside the server when it can; False when the caller must stream through."""
        return False

    # --- public interface ----------------------------------------------------------------
    def url_for(self, key: str) -> str:
        """Where an object lives, without credentials."""
        return f"{self.url}/{check_key(key)}"

    def put(self, key: str, path: str, sha256: str | None = None) -> ObjectInfo:
        """Stream ``path`` to ``key``; the object appears only when complete; sidecar and size checked."""
        check_key(key)
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            reader = HashingReader(handle, size)
            self._upload(key, reader, sha256)
        actual = reader.hexdigest()
        if reader.count != size or (sha256 and actual != sha256):
            self.delete(key)
            raise IntegrityError(f"{os.path.basename(path)} changed while it was uploaded; upload it again")
        self._put_bytes(key + SIDECAR, sidecar_text(actual, key.rsplit("/", 1)[-1]))
        info = self.head(key)
        if info is None or info.size != size or (info.sha256 and info.sha256 != actual):
            raise IntegrityError(
                f"{self.url_for(key)} does not match what was sent after upload "
                f"(size {None if info is None else info.size} != {size}); check the repository server"
            )
        info.sha256 = actual
        return info

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        """Write a small object (a manifest) and its sidecar."""
        check_key(key)
        digest = hashlib.sha256(data).hexdigest()
        self._put_bytes(key, data)
        self._put_bytes(key + SIDECAR, sidecar_text(digest, key.rsplit("/", 1)[-1]))
        return ObjectInfo(key, len(data), digest)

    def create_bytes(self, key: str, data: bytes) -> ObjectInfo | None:
        """Write a small object and its sidecar unless ``key`` exists already (then None): of racing writers,
        exactly one gets the key."""
        check_key(key)
        if not self._create_bytes(key, data):
            return None
        digest = hashlib.sha256(data).hexdigest()
        self._put_bytes(key + SIDECAR, sidecar_text(digest, key.rsplit("/", 1)[-1]))
        return ObjectInfo(key, len(data), digest)

    def try_lock(self, key: str, owner: dict) -> dict | None:
        """Take the lock ``key`` for ``owner``: None when taken, else the holder's owner record ({} if unknown).

        A holder whose record is older than ``stale_age`` is taken to be dead: its lock is broken once."""
        check_key(key)
        record = dict(owner, started=time.time())
        data = json.dumps(record, sort_keys=True).encode()
        for _attempt in range(2):
            taken, holder, token = self._try_lock(key, data)
            if taken:
                return None
            try:
                held = json.loads(holder) if holder else {}
            except ValueError:
                held = {}
            if not isinstance(held, dict):
                held = {}
            started = held.get("started")
            if not isinstance(started, (int, float)) or time.time() - started < self.stale_age:
                return held
            self._break_lock(key, token)
        return held

    def unlock(self, key: str) -> None:
        with contextlib.suppress(StoreError):
            self._unlock(check_key(key))

    def clean_stale(self, prefix: str, check_mode: bool = False) -> list[str]:
        """Remove (in check mode: list) what killed writers left under ``prefix``, older than ``stale_age``."""
        found = self._stale(prefix.strip("/"), time.time() - self.stale_age)
        if not check_mode:
            for _key, remove in found:
                remove()
        return sorted(key for key, _remove in found)

    def get_bytes(self, key: str, verify: bool = True) -> bytes | None:
        """A small object's content (None when absent), checked against its sidecar when there is one."""
        data = self._get_bytes(check_key(key))
        if data is None or not verify:
            return data
        recorded = self._recorded_sha256(key)
        if recorded and hashlib.sha256(data).hexdigest() != recorded:
            raise IntegrityError(f"{self.url_for(key)} does not match its recorded sha256; the repository is damaged")
        return data

    def get(self, key: str, dest: str, sha256: str | None = None, mode: int = 0o644) -> ObjectInfo:
        """Download ``key`` to ``dest`` through a temporary file beside it; nothing at dest unless verified."""
        check_key(key)
        expected = sha256 or self._recorded_sha256(key)
        if not expected:
            raise IntegrityError(f"{self.url_for(key)} has no recorded sha256; refusing an unverifiable download")
        with atomic_output(dest, mode) as out:
            writer = HashingWriter(out.file)
            self._download(key, writer)
            if writer.hexdigest() != expected:
                raise IntegrityError(
                    f"{self.url_for(key)} has sha256 {writer.hexdigest()}, expected {expected}; "
                    "the download was discarded (the repository copy may be damaged)",
                    expected_sha256=expected,
                    actual_sha256=writer.hexdigest(),
                )
        return ObjectInfo(key, writer.count, expected)

    def head(self, key: str) -> ObjectInfo | None:
        info = self._head(check_key(key))
        if info is not None and not info.sha256:
            info.sha256 = self._recorded_sha256(key)
        return info

    def list(self, prefix: str = "") -> list[str]:
        """Every object key under ``prefix`` (sorted), without sidecars and temporary objects."""
        prefix = prefix.strip("/")
        return sorted(k for k in self._list(prefix) if not is_internal(k))

    def delete(self, key: str) -> None:
        self._delete(check_key(key))
        self._delete(key + SIDECAR)

    def copy(self, source: ArtifactStore, src_key: str, dest_key: str, sha256: str, size: int) -> ObjectInfo:
        """Copy an object from ``source`` (possibly this store) to ``dest_key``, server-side when possible."""
        if self._server_copy(source, check_key(src_key), check_key(dest_key)):
            self._put_bytes(dest_key + SIDECAR, sidecar_text(sha256, dest_key.rsplit("/", 1)[-1]))
            info = self.head(dest_key)
            if info is None or info.size != size or info.sha256 != sha256:
                raise IntegrityError(f"server-side copy to {self.url_for(dest_key)} does not match the source")
            info.server_side = True
            return info
        with tempfile.TemporaryDirectory(prefix="conveyor-copy-") as tmp:
            local = os.path.join(tmp, "object")
            source.get(src_key, local, sha256=sha256)
            info = self.put(dest_key, local, sha256=sha256)
        info.server_side = False
        return info

    def _recorded_sha256(self, key: str) -> str | None:
        data = self._get_bytes(key + SIDECAR)
        return parse_sidecar(data) if data else None
