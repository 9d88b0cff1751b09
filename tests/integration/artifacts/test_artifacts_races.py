"""Concurrent writers and killed uploads against every backend: a directory, SeaweedFS (S3) and nginx (WebDAV)."""

from __future__ import annotations

import contextlib
import threading

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
    stores = [open_repo(repo_options) for _ in manifests]
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
    stores = [open_repo(repo_options) for _ in range(2)]
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
    dests = [open_repo(repo_options) for _ in sources]
    calls = [lambda s=s, d=d: artifacts.promote(s, d, "app", "3.0.0") for s, d in zip(sources, dests, strict=True)]
    results = race(monkeypatch, calls)
    winners = [i for i, r in enumerate(results) if isinstance(r, dict)]
    assert len(winners) == 1, results
    loser = results[1 - winners[0]]
    assert "already exists in" in str(loser) and "versions are immutable" in str(loser)
    served = artifacts.read_manifest(open_repo(repo_options), "app", "3.0.0")[0]
    assert served["git"]["commit"] == f"p{winners[0]}"
