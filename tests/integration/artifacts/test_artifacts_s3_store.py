"""The S3 backend against a real SeaweedFS server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts as artifacts
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import (
    IntegrityError,
    StoreError,
    open_store,
)
from tests.support.paths import COLLECTIONS, ROOT


def s3_store(options, **overrides):
    options = dict(options, **overrides)
    return open_store(options.pop("repository"), **options)


def test_roundtrip_stores_sha256_as_metadata_and_sidecar(s3_options, seaweedfs, tmp_path):
    store = s3_store(s3_options)
    src = tmp_path / "a.bin"
    src.write_bytes(os.urandom(9 * 1024 * 1024))  # above the multipart threshold
    info = store.put("app/1.0.0/a.bin", str(src), sha256=artifacts.sha256_file(str(src)))
    prefix = s3_options["repository"].split("/", 3)[3]
    head = seaweedfs.client().head_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/app/1.0.0/a.bin")
    assert head["Metadata"]["sha256"] == info.sha256
    assert store.list() == ["app/1.0.0/a.bin"]
    store.get("app/1.0.0/a.bin", str(tmp_path / "back.bin"))
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()


def test_damaged_object_fails_fetch_and_leaves_no_dest(s3_options, seaweedfs, tmp_path):
    store = s3_store(s3_options)
    (tmp_path / "a.bin").write_bytes(b"original content")
    store.put("app/1.0.0/a.bin", str(tmp_path / "a.bin"))
    prefix = s3_options["repository"].split("/", 3)[3]
    seaweedfs.client().put_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/app/1.0.0/a.bin", Body=b"tampered content")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError, match="download was discarded"):
        store.get("app/1.0.0/a.bin", str(out / "a.bin"))
    assert list(out.iterdir()) == []


def test_wrong_secret_fails_at_once_with_the_servers_message(s3_options):
    store = s3_store(s3_options, secret_key="definitely-wrong-secret", retries=3)
    started = time.monotonic()
    with pytest.raises(StoreError) as err:
        store.head("app/1.0.0/a.bin")
    assert time.monotonic() - started < 5  # a 4xx is not retried
    assert "403" in str(err.value) and "definitely-wrong-secret" not in str(err.value)


def test_killed_upload_leaves_nothing_at_the_final_key(s3_options, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(40 * 1024 * 1024))
    kill_mid_upload(s3_options, "app/1.0.0/big.bin", src)
    store = s3_store(s3_options)
    assert store.head("app/1.0.0/big.bin") is None
    assert store.list() == []


def kill_mid_upload(options: dict, key: str, src) -> None:
    """Start an upload in a child process, wait until it is well under way, kill it with SIGKILL."""
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("upload_child.py")),
            str(COLLECTIONS),
            json.dumps(options),
            key,
            str(src),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "PAUSED"
        time.sleep(0.5)  # let the parts already read reach the server
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def test_same_endpoint_promotion_copies_inside_the_server(s3_options, seaweedfs, tmp_path):
    staging = s3_store(s3_options)
    release = s3_store(s3_options, repository=f"s3://releases/{s3_options['repository'].rsplit('/', 1)[1]}")
    (tmp_path / "app-1.0.0.tar.gz").write_bytes(b"release bytes")
    artifacts.upload(staging, name="app", version="1.0.0", files=[str(tmp_path / "app-1.0.0.tar.gz")])
    result = artifacts.promote(staging, release, "app", "1.0.0")
    assert result["server_side"] == ["app-1.0.0.tar.gz"]
    assert artifacts.info(release)["latest"] == {"app": "1.0.0"}


def test_streaming_upload_and_fetch_keep_memory_bounded(s3_options, tmp_path):
    """64 MiB through the store in a child process: peak RSS grows far less than the file size."""
    src = tmp_path / "big.bin"
    with open(src, "wb") as handle:
        for _chunk in range(8):
            handle.write(os.urandom(8 * 1024 * 1024))
    script = (
        "import sys, json, resource; sys.path.insert(0, sys.argv[1]);"
        "from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store;"
        "o = json.loads(sys.argv[2]); s = open_store(o.pop('repository'), **o); s.head('warm/up');"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        "s.put('app/1.0.0/big.bin', sys.argv[3]); s.get('app/1.0.0/big.bin', sys.argv[3] + '.back');"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) // 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(COLLECTIONS), json.dumps(s3_options), str(src)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    growth_mib = int(out.stdout.strip())
    assert growth_mib < 40, f"peak RSS grew by {growth_mib} MiB for a 64 MiB transfer"
    assert (tmp_path / "big.bin.back").stat().st_size == src.stat().st_size
