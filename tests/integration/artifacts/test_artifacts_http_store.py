"""The HTTP backend against a real nginx with WebDAV PUT: basic auth + JSON listing, bearer + HTML listing."""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts as artifacts
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import StoreError, open_store

from .test_artifacts_s3_store import kill_mid_upload


def new_log_lines(server, before: int) -> list[str]:
    """Access log lines after ``before``; nginx writes a line just after it answers, so give it a moment."""
    time.sleep(0.3)
    return server.access_log()[before:]


def http_store(options, **overrides):
    options = dict(options, **overrides)
    return open_store(options.pop("repository"), **options)


@pytest.mark.parametrize("location", ["basic", "bearer"])
def test_release_roundtrip_lists_and_prunes(nginx_dav, tmp_path, location):
    auth = (
        {"token": nginx_dav.token}
        if location == "bearer"
        else {"username": nginx_dav.username, "password": nginx_dav.password}
    )
    store = open_store(f"{nginx_dav.url(location)}/{uuid.uuid4().hex[:8]}", **auth)
    for version in ("1.0.0", "1.1.0", "1.2.0-rc.1"):
        path = tmp_path / version / f"app-{version}.tar.gz"
        path.parent.mkdir()
        path.write_bytes(version.encode() * 1000)
        assert artifacts.upload(store, name="app", version=version, files=[str(path)])["changed"]
    assert artifacts.scan(store)["app"]["complete"] == ["1.2.0-rc.1", "1.1.0", "1.0.0"]
    fetched = artifacts.fetch(store, "app", "latest", str(tmp_path / "out"))
    assert fetched["version"] == "1.1.0"
    assert (tmp_path / "out" / "app-1.1.0.tar.gz").read_bytes() == b"1.1.0" * 1000
    pruned = artifacts.prune(store, keep=1, keep_prereleases=1)
    assert pruned["deleted"] == [{"name": "app", "version": "1.0.0"}]
    assert artifacts.scan(store)["app"]["complete"] == ["1.2.0-rc.1", "1.1.0"]
    root = os.path.join(nginx_dav.root, location, store.url.rsplit("/", 1)[1], "app")
    assert sorted(os.listdir(root)) == ["1.1.0", "1.2.0-rc.1"]  # the pruned version's directory is gone too


def test_upload_sends_checksum_header_and_writes_sidecar(http_options, nginx_dav, tmp_path):
    store = http_store(http_options)
    (tmp_path / "a.bin").write_bytes(b"artifact")
    digest = hashlib.sha256(b"artifact").hexdigest()
    store.put("app/1.0.0/a.bin", str(tmp_path / "a.bin"), sha256=digest)
    puts = [
        line for line in new_log_lines(nginx_dav, 0) if line.startswith("PUT ") and line.split()[1].endswith("/a.bin")
    ]
    assert puts and puts[-1].endswith(f"sha256={digest}")
    assert store.get_bytes("app/1.0.0/a.bin.sha256", verify=False).decode().startswith(digest)


def test_wrong_password_fails_at_once_without_the_password(http_options, nginx_dav):
    store = http_store(http_options, password="wrong-password-xyz", retries=3)
    before = len(nginx_dav.access_log())
    with pytest.raises(StoreError) as err:
        store.list()
    assert "401" in str(err.value) and "check username/password or token" in str(err.value)
    assert "wrong-password-xyz" not in str(err.value)
    # no retries on 4xx (only this test's requests count: other tests share the server)
    prefix = http_options["repository"].rstrip("/").rsplit("/", 1)[-1]
    assert len([line for line in new_log_lines(nginx_dav, before) if f"/{prefix}/" in line]) == 1


def test_server_errors_are_retried_with_backoff_then_fail(nginx_dav):
    store = open_store(nginx_dav.url("flaky"), retries=2)
    before = len(nginx_dav.access_log())
    started = time.monotonic()
    with pytest.raises(StoreError, match="failed after 3 attempts: HTTP 503"):
        store.head("app/1.0.0/a.bin")
    assert len([line for line in new_log_lines(nginx_dav, before) if "/flaky/" in line]) == 3
    assert time.monotonic() - started >= 0.25 + 0.5  # two jittered waits: >= 0.25 s and >= 0.5 s


def test_killed_upload_leaves_nothing_at_the_final_name(http_options, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(40 * 1024 * 1024))
    kill_mid_upload(http_options, "app/1.0.0/big.bin", src)
    time.sleep(0.5)
    store = http_store(http_options)
    assert store.head("app/1.0.0/big.bin") is None
    assert store.list() == []


def test_unreachable_server_is_one_line_after_bounded_retries():
    store = open_store("http://127.0.0.1:9/repo", retries=1, timeout=2)
    with pytest.raises(StoreError, match=r"failed after 2 attempts: .*ConnectionRefusedError"):
        store.list()
