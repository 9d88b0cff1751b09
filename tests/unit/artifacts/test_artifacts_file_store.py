"""The store interface on the file backend: atomic writes, sidecars, verified downloads, retries."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import (
    IntegrityError,
    RetryableError,
    StoreError,
    open_store,
    public_url,
    retry_call,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError


@pytest.fixture
def store(tmp_path):
    return open_store(f"file://{tmp_path}/repo")


def write(path, data: bytes):
    path.write_bytes(data)
    return str(path)


def test_put_writes_object_and_sidecar_and_lists_only_objects(store, tmp_path):
    src = write(tmp_path / "a.bin", b"payload")
    info = store.put("app/1.0.0/a.bin", src)
    assert info.sha256 == hashlib.sha256(b"payload").hexdigest() and info.size == 7
    sidecar = (tmp_path / "repo/app/1.0.0/a.bin.sha256").read_text()
    assert sidecar == f"{info.sha256}  a.bin\n"
    assert store.list() == ["app/1.0.0/a.bin"]
    assert store.head("app/1.0.0/a.bin").sha256 == info.sha256
    assert store.head("app/1.0.0/missing") is None


def test_interrupted_upload_leaves_nothing_at_the_final_name(store, tmp_path):
    src = write(tmp_path / "big.bin", os.urandom(3 * 1024 * 1024))

    class Boom(Exception):
        pass

    original = store._write_atomic

    def failing_write(key, source):
        class Half:
            calls = 0

            def read(self, n=-1):
                Half.calls += 1
                if Half.calls > 1:
                    raise Boom
                return source.read(n)

        original(key, Half() if not isinstance(source, bytes) else source)

    store._write_atomic = failing_write
    with pytest.raises(Boom):
        store.put("app/1.0.0/big.bin", src)
    directory = tmp_path / "repo/app/1.0.0"
    assert list(directory.iterdir()) == []  # neither the object nor a temporary file


def test_get_with_wrong_digest_fails_and_leaves_no_dest(store, tmp_path):
    store.put("app/1.0.0/a.bin", write(tmp_path / "a.bin", b"good"))
    (tmp_path / "repo/app/1.0.0/a.bin").write_bytes(b"evil")  # damaged in the repository
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(IntegrityError, match="expected"):
        store.get("app/1.0.0/a.bin", str(dest / "a.bin"))
    assert list(dest.iterdir()) == []


def test_get_refuses_an_object_without_any_recorded_digest(store, tmp_path):
    (tmp_path / "repo/x").mkdir(parents=True)
    (tmp_path / "repo/x/y.bin").write_bytes(b"no sidecar")
    with pytest.raises(IntegrityError, match="no recorded sha256"):
        store.get("x/y.bin", str(tmp_path / "y.bin"))


def test_delete_removes_sidecar_and_empty_directories(store, tmp_path):
    store.put("app/1.0.0/a.bin", write(tmp_path / "a.bin", b"x"))
    store.delete("app/1.0.0/a.bin")
    assert not (tmp_path / "repo/app").exists()


def test_copy_between_stores_streams_and_verifies(store, tmp_path):
    other = open_store(f"file://{tmp_path}/other")
    info = store.put("app/1.0.0/a.bin", write(tmp_path / "a.bin", b"content"))
    copied = other.copy(store, "app/1.0.0/a.bin", "app/1.0.0/a.bin", sha256=info.sha256, size=info.size)
    assert copied.sha256 == info.sha256 and not copied.server_side
    with pytest.raises(IntegrityError):
        other.copy(store, "app/1.0.0/a.bin", "app/1.0.0/b.bin", sha256="0" * 64, size=info.size)
    assert other.head("app/1.0.0/b.bin") is None


@pytest.mark.parametrize("key", ["../etc/passwd", "a//b", "/abs", "a/./b", ""])
def test_unsafe_keys_are_rejected(store, key):
    with pytest.raises(ConfigurationError):
        store.head(key)


def test_unknown_scheme_is_one_clear_line_without_credentials():
    with pytest.raises(ConfigurationError) as err:
        open_store("ftp://user:hunter2@example.com/x")
    assert "hunter2" not in str(err.value) and "file:///absolute/path" in str(err.value)
    assert public_url("https://user:hunter2@example.com:8443/r") == "https://example.com:8443/r"


def test_retry_backs_off_exponentially_with_jitter_and_is_bounded():
    delays, calls = [], []

    def flaky():
        calls.append(1)
        raise RetryableError("HTTP 503")

    with pytest.raises(StoreError, match="after 4 attempts: HTTP 503"):
        retry_call(flaky, retries=3, what="GET x", base_delay=1.0, sleep=delays.append)
    assert len(calls) == 4
    assert [0.5 <= delays[0] <= 1.0, 1.0 <= delays[1] <= 2.0, 2.0 <= delays[2] <= 4.0] == [True] * 3


def test_client_errors_are_not_retried():
    calls = []

    def forbidden():
        calls.append(1)
        raise StoreError("HTTP 403 Forbidden")

    with pytest.raises(StoreError, match="403"):
        retry_call(forbidden, retries=3, what="GET x", sleep=lambda _: None)
    assert calls == [1]
