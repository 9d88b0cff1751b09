"""Upload, fetch, promote, prune and info on a file repository (the engine, without Ansible)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts as artifacts
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import IntegrityError, open_store
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError


def make_release(directory, name="app", version="1.0.0", content=b"tarball", commit="abc123", tests=None):
    """A release as the package module writes it: artifacts and the manifest beside them."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {f"{name}-{version}.tar.gz": content, f"{name}-{version}.zip": content + b"-zip"}
    records = []
    for filename, data in files.items():
        (directory / filename).write_bytes(data)
        records.append(
            {
                "name": filename,
                "format": filename.rsplit(".", 1)[-1],
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "schema": 1,
        "name": name,
        "version": version,
        "git": {"commit": commit, "commit_time": 1700000000},
        "source_date_epoch": 1700000000,
        "artifacts": records,
        "build": {},
        "tests": tests or {},
    }
    path = directory / f"{name}-{version}.manifest.json"
    path.write_text(json.dumps(manifest, indent=2))
    return str(path)


@pytest.fixture
def store(tmp_path):
    return open_store(f"file://{tmp_path}/repo")


def test_manifest_upload_writes_files_then_manifest_and_is_idempotent(store, tmp_path):
    manifest = make_release(tmp_path / "dist")
    planned = artifacts.upload(store, manifest=manifest, check_mode=True)
    assert planned["changed"] and sorted(planned["uploaded"]) == ["app-1.0.0.tar.gz", "app-1.0.0.zip"]
    assert store.list() == []  # check mode wrote nothing
    first = artifacts.upload(store, manifest=manifest)
    assert first["changed"] and first["uploaded"] == planned["uploaded"]
    assert store.list("app/1.0.0") == [
        "app/1.0.0/app-1.0.0.manifest.json",
        "app/1.0.0/app-1.0.0.tar.gz",
        "app/1.0.0/app-1.0.0.zip",
    ]
    again = artifacts.upload(store, manifest=manifest, check_mode=True)
    assert not again["changed"] and again["uploaded"] == []
    assert not artifacts.upload(store, manifest=manifest)["changed"]


def test_rebuild_with_other_test_summary_is_the_same_release(store, tmp_path):
    artifacts.upload(store, manifest=make_release(tmp_path / "a", tests={"duration": 3.1}))
    result = artifacts.upload(store, manifest=make_release(tmp_path / "b", tests={"duration": 4.7}))
    assert not result["changed"]
    assert result["manifest"]["tests"] == {"duration": 3.1}  # the first published record is kept


def test_different_content_for_an_existing_version_fails(store, tmp_path):
    artifacts.upload(store, manifest=make_release(tmp_path / "a"))
    with pytest.raises(artifacts.ReleaseError, match=r"already exists .* different content; versions are immutable"):
        artifacts.upload(store, manifest=make_release(tmp_path / "b", content=b"other"), force=True)


def test_force_replaces_a_prerelease_only(store, tmp_path):
    artifacts.upload(store, manifest=make_release(tmp_path / "a", version="1.1.0-rc.1"))
    replaced = artifacts.upload(
        store, manifest=make_release(tmp_path / "b", version="1.1.0-rc.1", content=b"new"), force=True
    )
    assert replaced["changed"] and replaced["replaced"]
    dest = tmp_path / "out"
    artifacts.fetch(store, "app", "1.1.0-rc.1", str(dest))
    assert (dest / "app-1.1.0-rc.1.tar.gz").read_bytes() == b"new"


def test_manifest_that_does_not_match_its_files_is_refused_before_upload(store, tmp_path):
    manifest = make_release(tmp_path / "dist")
    (tmp_path / "dist" / "app-1.0.0.zip").write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match="does not match the manifest"):
        artifacts.upload(store, manifest=manifest)
    assert store.list() == []


def test_explicit_files_generate_a_manifest(store, tmp_path):
    (tmp_path / "app.whl").write_bytes(b"wheel")
    result = artifacts.upload(store, name="app", version="2.0.0", files=[str(tmp_path / "app.whl")])
    assert result["manifest"]["artifacts"][0]["format"] == "wheel"
    assert not artifacts.upload(store, name="app", version="2.0.0", files=[str(tmp_path / "app.whl")])["changed"]


def test_bad_input_is_one_clear_line(store, tmp_path):
    with pytest.raises(ConfigurationError, match="give either manifest, or name, version and files"):
        artifacts.upload(store, name="app")
    with pytest.raises(ConfigurationError, match="invalid version"):
        artifacts.upload(store, name="app", version="../1", files=[__file__])
    bad = tmp_path / "x.manifest.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        artifacts.upload(store, manifest=str(bad))


def test_incomplete_version_is_invisible_and_completed_by_a_new_upload(store, tmp_path):
    manifest = make_release(tmp_path / "dist")
    store.put("app/1.0.0/app-1.0.0.tar.gz", str(tmp_path / "dist" / "app-1.0.0.tar.gz"))  # interrupted earlier
    store.put("app/1.0.0/leftover.bin", str(tmp_path / "dist" / "app-1.0.0.zip"))
    described = artifacts.info(store)
    assert described["releases"] == {"app": []} and described["incomplete"] == {"app": ["1.0.0"]}
    with pytest.raises(artifacts.ReleaseError, match="not in"):
        artifacts.fetch(store, "app", "1.0.0", str(tmp_path / "out"))
    assert artifacts.upload(store, manifest=manifest)["changed"]
    assert "app/1.0.0/leftover.bin" not in store.list()
    assert artifacts.info(store)["incomplete"] == {}


def test_fetch_latest_skips_prereleases_and_is_idempotent(store, tmp_path):
    for version in ("1.0.0", "1.2.0", "1.10.0-rc.1"):
        artifacts.upload(store, manifest=make_release(tmp_path / version, version=version))
    dest = tmp_path / "out"
    planned = artifacts.fetch(store, "app", "latest", str(dest), check_mode=True)
    assert planned["version"] == "1.2.0" and planned["changed"] and not dest.exists()
    fetched = artifacts.fetch(store, "app", "latest", str(dest))
    assert sorted(fetched["downloaded"]) == ["app-1.2.0.manifest.json", "app-1.2.0.tar.gz", "app-1.2.0.zip"]
    assert not artifacts.fetch(store, "app", "latest", str(dest))["changed"]
    assert artifacts.fetch(store, "app", "latest-prerelease", str(dest), check_mode=True)["version"] == "1.10.0-rc.1"


def test_fetch_never_writes_through_links_planted_in_the_destination(store, tmp_path):
    """A user who can write to dest must not make the fetch overwrite (or widen) another file."""
    artifacts.upload(store, manifest=make_release(tmp_path / "dist"))
    victim = tmp_path / "victim"
    victim.write_bytes(b"root-owned secret\n")
    victim.chmod(0o600)
    dest = tmp_path / "out"
    dest.mkdir()
    manifest = dest / "app-1.0.0.manifest.json"
    for name in (
        f"{manifest.name}.{os.getpid()}.part",
        f"{manifest.name}.part",
        f"app-1.0.0.tar.gz.{os.getpid()}.part",
    ):
        (dest / name).symlink_to(victim)  # the temporary names a predictable writer would use
    (dest / "app-1.0.0.zip").symlink_to(victim)  # and a link at a final name
    fetched = artifacts.fetch(store, "app", "1.0.0", str(dest))
    assert fetched["changed"]
    assert victim.read_bytes() == b"root-owned secret\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert not (dest / "app-1.0.0.zip").is_symlink() and (dest / "app-1.0.0.zip").read_bytes() == b"tarball-zip"
    assert json.loads(manifest.read_text())["version"] == "1.0.0" and not manifest.is_symlink()


def test_promote_copies_once_and_refuses_conflicts(store, tmp_path):
    release = open_store(f"file://{tmp_path}/release")
    artifacts.upload(store, manifest=make_release(tmp_path / "a"))
    planned = artifacts.promote(store, release, "app", "1.0.0", check_mode=True)
    assert planned["changed"] and len(planned["copied"]) == 2 and release.list() == []
    assert artifacts.promote(store, release, "app", "1.0.0")["changed"]
    assert not artifacts.promote(store, release, "app", "1.0.0")["changed"]
    other = open_store(f"file://{tmp_path}/other")
    artifacts.upload(other, manifest=make_release(tmp_path / "b", content=b"different"))
    with pytest.raises(artifacts.ReleaseError, match="immutable"):
        artifacts.promote(other, release, "app", "1.0.0")


def test_prune_keeps_newest_in_semver_order_and_never_protected(store, tmp_path):
    versions = ["0.9.0", "1.0.0", "1.2.0", "1.10.0", "2.0.0-rc.1", "2.0.0-rc.2", "nightly"]
    for version in versions:
        artifacts.upload(store, manifest=make_release(tmp_path / version, version=version))
    planned = artifacts.prune(store, keep=2, keep_prereleases=1, protect=["0.9.0"], check_mode=True)
    assert [d["version"] for d in planned["deleted"]] == ["1.0.0", "2.0.0-rc.1"]
    assert [u["version"] for u in planned["unsorted"]] == ["nightly"]
    assert len(store.list()) == 7 * 3  # check mode deleted nothing
    result = artifacts.prune(store, keep=2, keep_prereleases=1, protect=["app@0.9.0"])
    assert result["deleted"] == planned["deleted"]
    assert artifacts.scan(store)["app"]["complete"] == ["2.0.0-rc.2", "1.10.0", "1.2.0", "0.9.0", "nightly"]
    together = artifacts.prune(store, keep=2, protect=["0.9.0"])
    assert [d["version"] for d in together["deleted"]] == ["1.2.0"]
    assert not artifacts.prune(store, keep=2, protect=["0.9.0"])["changed"]


def test_info_reports_manifest_fields_digests_and_latest(store, tmp_path):
    artifacts.upload(store, manifest=make_release(tmp_path / "a", version="1.0.0"))
    artifacts.upload(store, manifest=make_release(tmp_path / "b", version="1.1.0-rc.1", name="app"))
    described = artifacts.info(store, name="app")
    assert described["names"] == ["app"] and described["latest"] == {"app": "1.0.0"}
    newest = described["releases"]["app"][0]
    assert newest["version"] == "1.1.0-rc.1" and newest["prerelease"] and newest["git"]["commit"] == "abc123"
    assert {a["name"] for a in newest["artifacts"]} == {"app-1.1.0-rc.1.tar.gz", "app-1.1.0-rc.1.zip"}
    assert all(len(a["sha256"]) == 64 and a["size"] > 0 for a in newest["artifacts"])


def test_info_filters_by_version_and_latest(store, tmp_path):
    for version in ("1.0.0", "1.1.0-rc.1"):
        artifacts.upload(store, manifest=make_release(tmp_path / version, version=version))
    assert [r["version"] for r in artifacts.info(store, version="latest")["releases"]["app"]] == ["1.0.0"]
    newest = artifacts.info(store, version="latest-prerelease")["releases"]["app"]
    assert [r["version"] for r in newest] == ["1.1.0-rc.1"]
    assert artifacts.info(store, version="9.9.9")["releases"]["app"] == []
