"""Diff mode of upload, promote and prune: one comparison gives ``changed`` and the diff, check mode predicts it."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts as artifacts
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store
from tests.unit.artifacts.test_artifacts_engine import make_release


@pytest.fixture
def store(tmp_path):
    return open_store(f"file://{tmp_path}/repo")


def state(data: bytes) -> str:
    return f"sha256 {hashlib.sha256(data).hexdigest()}, {len(data)} bytes"


def test_upload_shows_every_file_it_writes_and_the_real_run_does_what_the_preview_showed(store, tmp_path):
    manifest = make_release(tmp_path / "dist")
    manifest_bytes = (tmp_path / "dist" / "app-1.0.0.manifest.json").read_bytes()
    preview = artifacts.upload(store, manifest=manifest, check_mode=True, want_diff=True)
    assert preview["changed"] is True
    assert preview["diff"] == {
        "before_header": f"{store.url}/app/1.0.0 (before)",
        "after_header": f"{store.url}/app/1.0.0 (after)",
        "before": "app-1.0.0.tar.gz: absent\napp-1.0.0.zip: absent\napp-1.0.0.manifest.json: absent\n",
        "after": (
            f"app-1.0.0.tar.gz: {state(b'tarball')}\n"
            f"app-1.0.0.zip: {state(b'tarball-zip')}\n"
            f"app-1.0.0.manifest.json: {state(manifest_bytes)}\n"
        ),
    }
    real = artifacts.upload(store, manifest=manifest, want_diff=True)
    assert real["diff"] == preview["diff"]
    again = artifacts.upload(store, manifest=manifest, check_mode=True, want_diff=True)
    assert again["changed"] is False and "diff" not in again
    assert "diff" not in artifacts.upload(store, manifest=make_release(tmp_path / "other"), check_mode=True)


def test_a_repaired_file_is_the_only_line_that_changes(store, tmp_path):
    manifest = make_release(tmp_path / "dist")
    artifacts.upload(store, manifest=manifest)
    (tmp_path / "repo" / "app" / "1.0.0" / "app-1.0.0.zip").write_bytes(b"damaged")
    preview = artifacts.upload(store, manifest=manifest, check_mode=True, want_diff=True)
    before, after = preview["diff"]["before"].splitlines(), preview["diff"]["after"].splitlines()
    assert before[1].startswith("app-1.0.0.zip: sha256 ") and before[1] != after[1]
    assert after[1] == f"app-1.0.0.zip: {state(b'tarball-zip')}"
    assert before[0] == after[0] and before[2] == after[2]  # the other file and the first manifest stay
    assert preview["uploaded"] == ["app-1.0.0.zip"]
    assert artifacts.upload(store, manifest=manifest, want_diff=True)["diff"] == preview["diff"]


def test_a_forced_prerelease_shows_old_and_new_sha256_and_the_leftover_it_removes(store, tmp_path):
    artifacts.upload(store, manifest=make_release(tmp_path / "a", version="2.0.0-rc.1", content=b"old"))
    (tmp_path / "repo" / "app" / "2.0.0-rc.1" / "notes.txt").write_bytes(b"left")
    replacement = make_release(tmp_path / "b", version="2.0.0-rc.1", content=b"new")
    preview = artifacts.upload(store, manifest=replacement, force=True, check_mode=True, want_diff=True)
    before, after = preview["diff"]["before"].splitlines(), preview["diff"]["after"].splitlines()
    assert before[0] == f"app-2.0.0-rc.1.tar.gz: {state(b'old')}"
    assert after[0] == f"app-2.0.0-rc.1.tar.gz: {state(b'new')}"
    assert before[-1] == "notes.txt: present" and len(after) == len(before) - 1
    assert artifacts.upload(store, manifest=replacement, force=True, want_diff=True)["diff"] == preview["diff"]


def test_promote_shows_the_files_it_would_copy(store, tmp_path):
    artifacts.upload(store, manifest=make_release(tmp_path / "dist"))
    dest = open_store(f"file://{tmp_path}/release")
    preview = artifacts.promote(store, dest, "app", "1.0.0", check_mode=True, want_diff=True)
    assert preview["changed"] is True and preview["diff"]["before_header"] == f"{dest.url}/app/1.0.0 (before)"
    assert preview["diff"]["before"].count(": absent\n") == 3
    assert f"app-1.0.0.tar.gz: {state(b'tarball')}\n" in preview["diff"]["after"]
    real = artifacts.promote(store, dest, "app", "1.0.0", want_diff=True)
    assert real["diff"] == preview["diff"]
    again = artifacts.promote(store, dest, "app", "1.0.0", want_diff=True)
    assert again["changed"] is False and "diff" not in again


def test_prune_shows_the_versions_it_removes(store, tmp_path):
    for version in ("1.0.0", "1.1.0", "1.2.0", "2.0.0-rc.1"):
        artifacts.upload(store, manifest=make_release(tmp_path / version, version=version))
    preview = artifacts.prune(store, keep=1, protect=["1.0.0"], check_mode=True, want_diff=True)
    assert preview["diff"]["before"] == "app 2.0.0-rc.1\napp 1.2.0\napp 1.1.0\napp 1.0.0\n"
    assert preview["diff"]["after"] == "app 2.0.0-rc.1\napp 1.0.0\n"
    assert [d["version"] for d in preview["deleted"]] == ["1.2.0", "1.1.0"]
    real = artifacts.prune(store, keep=1, protect=["1.0.0"], want_diff=True)
    assert real["diff"] == preview["diff"] and real["changed"] is True
    again = artifacts.prune(store, keep=1, protect=["1.0.0"], want_diff=True)
    assert again["changed"] is False and "diff" not in again
