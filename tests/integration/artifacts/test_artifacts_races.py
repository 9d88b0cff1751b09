"""Concurrent writers and killed uploads against every backend: a directory, SeaweedFS (S3) and nginx (WebDAV)."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import time
import urllib.request

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts as artifacts
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError
from tests.unit.artifacts.test_artifacts_engine import make_release

BACKENDS = ("file", "s3", "http")
IMMUTABLE = "app 3.0.0 already exists in {url} with different content; versions are immutable: publish a new version"


@pytest.fixture(params=BACKENDS)
def repo_options(request, tmp_path):
    if request.param == "file":
        return {"repository": f"file://{tmp_path}/repo"}
    return dict(request.getfixturevalue("s3_options" if request.param == "s3" else "http_options"))


def open_repo(options, **overrides):
    options = dict(options, **overrides)
    return open_store(options.pop("repository"), **options)


def race(monkeypatch, calls):
    """Run ``calls`` in threads that all pass the 'is the version there?' check before any of them writes."""
    barrier = threading.Barrier(len(calls))
    original = artifacts.read_manifest
    first_read = threading.local()

    def read_then_wait(store, name, version):
        answer = original(store, name, version)
        if not getattr(first_read, "done", False):
            first_read.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)
        return answer

    monkeypatch.setattr(artifacts, "read_manifest", read_then_wait)
    results = [None] * len(calls)

    def run(index):
        try:
            results[index] = calls[index]()
        except ConveyorError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_uploads_of_one_version_have_exactly_one_winner(repo_options, monkeypatch, tmp_path):
    manifests = [
        make_release(tmp_path / f"build{i}", version="3.0.0", content=f"build {i} ".encode() * 1000, commit=f"c{i}")
        for i in range(2)
    ]
    stores = [open_repo(repo_options) for _unused in manifests]
    calls = [lambda s=s, m=m: artifacts.upload(s, manifest=m) for s, m in zip(stores, manifests, strict=True)]
    results = race(monkeypatch, calls)
    winners = [i for i, r in enumerate(results) if isinstance(r, dict)]
    assert len(winners) == 1, results
    winner, loser = winners[0], 1 - winners[0]
    assert results[winner]["changed"] is True
    assert str(results[loser]).startswith(IMMUTABLE.format(url=stores[0].url)), results[loser]
    # the repository serves the winner's release, whole
    fetched = artifacts.fetch(open_repo(repo_options), "app", "3.0.0", str(tmp_path / "fetched"))
    assert fetched["manifest"]["git"]["commit"] == f"c{winner}"
    for item in fetched["files"]:
        with open(item["path"], "rb") as served:
            assert served.read() == (tmp_path / f"build{winner}" / item["name"]).read_bytes()


def test_concurrent_identical_uploads_both_succeed_and_publish_once(repo_options, monkeypatch, tmp_path):
    manifest = make_release(tmp_path / "build", version="3.0.0", commit="same")
    stores = [open_repo(repo_options) for _unused in range(2)]
    results = race(monkeypatch, [lambda s=s: artifacts.upload(s, manifest=manifest) for s in stores])
    assert all(isinstance(r, dict) for r in results), results
    assert sorted(r["changed"] for r in results) == [False, True]
    again = artifacts.upload(open_repo(repo_options), manifest=manifest)
    assert again["changed"] is False and again["uploaded"] == []


def test_concurrent_promotions_into_one_repository_have_exactly_one_winner(repo_options, monkeypatch, tmp_path):
    sources = []
    for i in range(2):
        source = open_store(f"file://{tmp_path}/staging{i}")
        artifacts.upload(source, manifest=make_release(tmp_path / f"b{i}", version="3.0.0", commit=f"p{i}"))
        sources.append(source)
    dests = [open_repo(repo_options) for _unused in sources]
    calls = [lambda s=s, d=d: artifacts.promote(s, d, "app", "3.0.0") for s, d in zip(sources, dests, strict=True)]
    results = race(monkeypatch, calls)
    winners = [i for i, r in enumerate(results) if isinstance(r, dict)]
    assert len(winners) == 1, results
    loser = results[1 - winners[0]]
    assert "already exists in" in str(loser) and "versions are immutable" in str(loser)
    served = artifacts.read_manifest(open_repo(repo_options), "app", "3.0.0")[0]
    assert served["git"]["commit"] == f"p{winners[0]}"


# --- what killed runs leave behind ------------------------------------------------------------------
def test_killed_file_upload_leaves_a_temp_file_that_the_next_upload_and_prune_remove(tmp_path):
    from .test_artifacts_s3_store import kill_mid_upload

    root = tmp_path / "repo"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(40 * 1024 * 1024))
    kill_mid_upload({"repository": f"file://{root}"}, "app/1.0.0/app-1.0.0.tar.gz", big)
    (left,) = [p for p in (root / "app" / "1.0.0").iterdir() if ".upload-" in p.name]
    fresh = root / "app" / "1.0.0" / ".app-1.0.0.zip.upload-live.tmp"  # a live concurrent upload's
    fresh.write_bytes(b"being written")
    hour_ago = time.time() - 3700
    os.utime(left, (hour_ago, hour_ago))
    store = open_store(f"file://{root}")
    manifest = make_release(tmp_path / "build", version="1.0.0")

    planned = artifacts.upload(store, manifest=manifest, check_mode=True)
    assert planned["cleaned"] == [f"app/1.0.0/{left.name}"] and left.exists()
    done = artifacts.upload(store, manifest=manifest)
    assert done["cleaned"] == [f"app/1.0.0/{left.name}"] and not left.exists()
    assert fresh.exists()

    os.utime(fresh, (hour_ago, hour_ago))
    assert artifacts.prune(store, keep=0, check_mode=True)["cleaned"] == [f"app/1.0.0/{fresh.name}"]
    pruned = artifacts.prune(store, keep=0)
    assert pruned["changed"] and pruned["cleaned"] == [f"app/1.0.0/{fresh.name}"]
    assert not (root / "app" / "1.0.0").exists()
    again = artifacts.prune(store, keep=0)
    assert again["changed"] is False and again["cleaned"] == []


def test_open_multipart_upload_is_aborted_once_older_than_stale_age(s3_options, seaweedfs, tmp_path):
    client = seaweedfs.client()
    prefix = s3_options["repository"].split("/", 3)[3]
    opened = client.create_multipart_upload(Bucket=seaweedfs.bucket, Key=f"{prefix}/app/1.0.0/app-1.0.0.tar.gz")
    client.upload_part(
        Bucket=seaweedfs.bucket,
        Key=f"{prefix}/app/1.0.0/app-1.0.0.tar.gz",
        UploadId=opened["UploadId"],
        PartNumber=1,
        Body=b"x" * 1024,
    )

    def open_uploads():
        answer = client.list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=f"{prefix}/")
        return [u["UploadId"] for u in answer.get("Uploads", [])]

    manifest = make_release(tmp_path / "build", version="1.0.0")
    kept = artifacts.upload(open_repo(s3_options), manifest=manifest)  # default stale_age: an hour
    assert kept["cleaned"] == [] and open_uploads() == [opened["UploadId"]]

    store = open_repo(s3_options, stale_age=0)
    cleaned = ["app/1.0.0/app-1.0.0.tar.gz (unfinished multipart upload)"]
    planned = artifacts.upload(store, manifest=manifest, check_mode=True)
    assert planned["cleaned"] == cleaned and planned["changed"] is True
    assert open_uploads() == [opened["UploadId"]]
    done = artifacts.upload(store, manifest=manifest)
    assert done["cleaned"] == cleaned and done["uploaded"] == []
    assert open_uploads() == []
    assert artifacts.upload(store, manifest=manifest)["changed"] is False


def test_prune_aborts_stale_multipart_uploads_of_the_name(s3_options, seaweedfs):
    client = seaweedfs.client()
    prefix = s3_options["repository"].split("/", 3)[3]
    client.create_multipart_upload(Bucket=seaweedfs.bucket, Key=f"{prefix}/app/9.9.9/big.bin")
    client.create_multipart_upload(Bucket=seaweedfs.bucket, Key=f"{prefix}/other/1.0.0/big.bin")
    result = artifacts.prune(open_repo(s3_options, stale_age=0), keep=0, name="app")
    assert result["changed"] and result["cleaned"] == ["app/9.9.9/big.bin (unfinished multipart upload)"]
    left = client.list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=f"{prefix}/").get("Uploads", [])
    assert [u["Key"] for u in left] == [f"{prefix}/other/1.0.0/big.bin"]


@pytest.mark.parametrize("backend", ("s3", "http"))
def test_lock_of_a_killed_run_is_taken_over_after_stale_age(backend, s3_options, http_options, tmp_path):
    options = s3_options if backend == "s3" else http_options
    store = open_repo(options)
    dead = {"release": "0" * 64}
    assert store.try_lock("app/.3.0.0.lock", dead) is None  # taken, never released: the run was killed
    manifest = make_release(tmp_path / "build", version="3.0.0")
    with pytest.raises(ConveyorError, match=r"already exists in .* versions are immutable"):
        artifacts.upload(open_repo(options), manifest=manifest)
    time.sleep(1.1)
    done = artifacts.upload(open_repo(options, stale_age=1), manifest=manifest)
    assert done["changed"] is True
    assert artifacts.read_manifest(store, "app", "3.0.0")[0]["git"]["commit"] == "abc123"


def test_lock_of_a_run_killed_before_it_wrote_its_owner_expires_after_stale_age(http_options, tmp_path):
    # the run made the lock collection (MKCOL 201) and was killed before it wrote the owner record
    lock_url = f"{http_options['repository']}/app/.3.0.0.lock/"
    credentials = base64.b64encode(f"{http_options['username']}:{http_options['password']}".encode()).decode()
    for url in (f"{http_options['repository']}/", f"{http_options['repository']}/app/", lock_url):
        request = urllib.request.Request(url, method="MKCOL", headers={"Authorization": f"Basic {credentials}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
    manifest = make_release(tmp_path / "build", version="3.0.0")
    with pytest.raises(ConveyorError, match=r"being written by another run .* expires after stale_age"):
        artifacts.upload(open_repo(http_options, timeout=1), manifest=manifest)
    time.sleep(1.1)
    done = artifacts.upload(open_repo(http_options, stale_age=1), manifest=manifest)
    assert done["changed"] is True
    assert artifacts.read_manifest(open_repo(http_options), "app", "3.0.0")[0]["git"]["commit"] == "abc123"
