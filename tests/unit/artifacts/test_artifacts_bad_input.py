"""Damaged release manifests end in one ConfigurationError naming the manifest, never another exception."""

from __future__ import annotations

import json

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts as artifacts
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from tests.unit.artifacts.test_artifacts_engine import make_release


@pytest.fixture
def store(tmp_path):
    return open_store(f"file://{tmp_path}/repo")


def damage_manifest(store, change) -> None:
    """Rewrite the published manifest of app 1.0.0 through ``change(manifest)``, sidecar included."""
    key = artifacts.manifest_key("app", "1.0.0")
    manifest = json.loads(store.get_bytes(key))
    change(manifest)
    store.put_bytes(key, json.dumps(manifest).encode())


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda m: m["artifacts"][0].update(size="big"), r"has size 'big', expected a whole number of bytes"),
        (lambda m: m["artifacts"][0].update(size=-1), r"has size -1"),
        (lambda m: m["artifacts"][0].update(size=True), r"has size True"),
        (lambda m: m["artifacts"][0].update(sha256=12), r"has sha256 12, expected 64 lowercase hexadecimal"),
        (lambda m: m["artifacts"][0].update(name=["x"]), r"artifact name \['x'\] must be a file name"),
        (lambda m: m.update(git="c0ffee"), r"git must be a mapping"),
    ],
)
def test_damaged_manifest_in_the_repository_is_one_clear_line(store, tmp_path, change, complaint):
    artifacts.upload(store, manifest=make_release(tmp_path / "dist"))
    damage_manifest(store, change)
    for call in (
        lambda: artifacts.info(store),
        lambda: artifacts.fetch(store, "app", "1.0.0", str(tmp_path / "out")),
        lambda: artifacts.upload(store, manifest=str(tmp_path / "dist" / "app-1.0.0.manifest.json")),
    ):
        with pytest.raises(ConfigurationError, match=complaint) as caught:
            call()
        assert "app-1.0.0.manifest.json" in caught.value.msg and "\n" not in caught.value.msg
    assert not (tmp_path / "out").exists()


def test_local_manifest_with_a_bad_size_is_refused_before_any_upload(store, tmp_path):
    path = tmp_path / "dist" / "app-1.0.0.manifest.json"
    make_release(tmp_path / "dist")
    manifest = json.loads(path.read_text())
    manifest["artifacts"][0]["size"] = "big"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ConfigurationError, match="has size 'big'"):
        artifacts.upload(store, manifest=str(path))
    assert store.list() == []
