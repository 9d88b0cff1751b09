"""Bad input through real ansible-playbook runs: one line saying what is wrong, never 'unexpected'."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.support.playbook import run_tasks

pytestmark = pytest.mark.integration


def published_release(repo, size) -> None:
    """app 1.0.0 in the file repository ``repo``, its manifest recording ``size`` for the tarball."""
    data = b"tarball"
    version_dir = repo / "app" / "1.0.0"
    version_dir.mkdir(parents=True)
    (version_dir / "app-1.0.0.tar.gz").write_bytes(data)
    manifest = {
        "schema": 1,
        "name": "app",
        "version": "1.0.0",
        "git": {},
        "artifacts": [{"name": "app-1.0.0.tar.gz", "sha256": hashlib.sha256(data).hexdigest(), "size": size}],
        "build": {},
        "tests": {},
    }
    (version_dir / "app-1.0.0.manifest.json").write_text(json.dumps(manifest))


def test_bad_urls_manifests_and_state_files_fail_with_one_clear_line(tmp_path):
    repo = tmp_path / "repo"
    published_release(repo, "big")
    root = tmp_path / "deploy"
    (root / "releases").mkdir(parents=True)
    (root / "releases.json").write_text(json.dumps({"schema": 1, "releases": [{"status": "active"}]}))
    sha = "1" * 64
    cases = {
        "ipv6 repository": ("artifact_info", {"repository": "http://[::1/x"}),
        "port out of range": (
            "artifact_upload",
            {"repository": "http://127.0.0.1:99999/repo", "name": "app", "version": "1.0.0", "files": [__file__]},
        ),
        "bad size": ("artifact_info", {"repository": f"file://{repo}"}),
        "relative artifact_url": (
            "app_rollout",
            {"root": str(tmp_path / "r1"), "artifact_url": "a.tgz", "artifact_sha256": sha},
        ),
        "health url": (
            "app_rollout",
            {
                "root": str(tmp_path / "r2"),
                "artifact_path": __file__,
                "health": {"url": "http://127.0.0.1:99999/health"},
            },
        ),
        "metrics_gate url": (
            "metrics_gate",
            {"url": "http://[::1/x", "checks": [{"query": "up", "op": ">", "threshold": 0}]},
        ),
        "damaged state": ("app_rollout", {"root": str(root), "artifact_path": __file__}),
    }
    run = run_tasks(
        tmp_path,
        [
            {"name": name, "ignore_errors": True, f"conveyor.cicd.{module}": args}
            for name, (module, args) in cases.items()
        ],
    )
    messages = {name: run.result(name)["msg"] for name in cases}
    for name, msg in messages.items():
        assert run.result(name)["failed"], name
        assert "unexpected" not in msg and "please report" not in msg and "\n" not in msg, (name, msg)
    assert "(Invalid IPv6 URL)" in messages["ipv6 repository"]
    assert "(Port out of range 0-65535)" in messages["port out of range"]
    assert "app-1.0.0.manifest.json: artifact app-1.0.0.tar.gz has size 'big'" in messages["bad size"]
    assert "artifact_url 'a.tgz' has an unsupported scheme" in messages["relative artifact_url"]
    assert messages["health url"].startswith("health url 'http://127.0.0.1:99999/health' is not a valid URL")
    assert "(Invalid IPv6 URL)" in messages["metrics_gate url"]
    assert messages["damaged state"] == (
        f"{root / 'releases.json'} is damaged: releases[0] has no 'id'; "
        "fix or remove that entry, or restore the file from a backup"
    )
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()
