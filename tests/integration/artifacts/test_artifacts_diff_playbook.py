"""--check --diff through real ansible-playbook runs: artifact_upload, artifact_promote and artifact_prune against
nginx (WebDAV) and a directory; the preview is what the real run then does."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.artifacts.test_artifacts_modules import make_release
from tests.support.playbook import run_tasks

pytestmark = pytest.mark.integration


def state(data: bytes) -> str:
    return f"sha256 {hashlib.sha256(data).hexdigest()}, {len(data)} bytes"


def tasks(conn: dict, dest: str, manifest: str) -> list[dict]:
    return [
        {"name": "upload", "conveyor.cicd.artifact_upload": dict(conn, manifest=manifest)},
        {
            "name": "promote",
            "conveyor.cicd.artifact_promote": dict(conn, name="app", version="1.1.0", dest_repository=dest),
        },
        {"name": "prune", "conveyor.cicd.artifact_prune": dict(conn, name="app", keep=1)},
    ]


def test_check_diff_previews_upload_promote_and_prune_exactly(http_options, tmp_path):
    conn = http_options
    first = make_release(tmp_path / "1.0.0", version="1.0.0")
    run = run_tasks(tmp_path, [{"name": "seed", "conveyor.cicd.artifact_upload": dict(conn, manifest=first)}])
    assert run.rc == 0, run.output[-3000:]
    manifest = make_release(tmp_path / "1.1.0", version="1.1.0")
    dest = f"file://{tmp_path}/release"
    # check mode uploads nothing, so a promote of 1.1.0 can only be previewed after the real upload
    preview = run_tasks(tmp_path, tasks(conn, dest, manifest)[:1], name="preview", check=True, diff=True)
    assert preview.rc == 0, preview.output[-3000:]
    upload = preview.result("upload")
    assert upload["changed"] is True
    assert (
        upload["diff"]["before_header"].endswith("/app/1.1.0 (before)") and "@" not in upload["diff"]["before_header"]
    )
    assert upload["diff"]["before"] == (
        "app-1.1.0.tar.gz: absent\napp-1.1.0.zip: absent\napp-1.1.0.manifest.json: absent\n"
    )
    assert upload["diff"]["after"].startswith(
        f"app-1.1.0.tar.gz: {state(b'tarball')}\napp-1.1.0.zip: {state(b'tarball' * 2)}\n"
    )
    real = run_tasks(tmp_path, tasks(conn, dest, manifest)[:1], name="real", diff=True)
    assert real.rc == 0, real.output[-3000:]
    assert real.result("upload")["diff"] == upload["diff"]

    later = run_tasks(tmp_path, tasks(conn, dest, manifest)[1:], name="later_preview", check=True, diff=True)
    assert later.rc == 0, later.output[-3000:]
    promote, prune = later.result("promote"), later.result("prune")
    assert promote["diff"]["before_header"] == f"{dest}/app/1.1.0 (before)"
    assert promote["diff"]["before"].count(": absent\n") == 3
    assert prune["diff"]["before"] == "app 1.1.0\napp 1.0.0\n" and prune["diff"]["after"] == "app 1.1.0\n"
    assert not (tmp_path / "release").exists()

    done = run_tasks(tmp_path, tasks(conn, dest, manifest)[1:], name="later_real", diff=True)
    assert done.rc == 0, done.output[-3000:]
    assert done.result("promote")["diff"] == promote["diff"] and done.result("prune")["diff"] == prune["diff"]
    again = run_tasks(tmp_path, tasks(conn, dest, manifest), name="again", check=True, diff=True)
    assert again.rc == 0, again.output[-3000:]
    assert all(
        not again.result(name)["changed"] and "diff" not in again.result(name)
        for name in ("upload", "promote", "prune")
    )
    assert conn["password"] not in preview.output + real.output + later.output + done.output


def test_the_default_callback_prints_the_diff_without_credentials(nginx_dav, tmp_path):
    secret_url = nginx_dav.url("basic").replace("://", f"://{nginx_dav.username}:{nginx_dav.password}@", 1)
    conn = {"repository": f"{secret_url}/{tmp_path.name}"}
    manifest = make_release(tmp_path / "1.0.0", version="1.0.0")
    run = run_tasks(
        tmp_path,
        [{"name": "upload", "conveyor.cicd.artifact_upload": dict(conn, manifest=manifest)}],
        check=True,
        diff=True,
        callback="default",
    )
    assert run.rc == 0, run.output[-3000:]
    assert "+app-1.0.0.tar.gz: sha256 " in run.output and "-app-1.0.0.tar.gz: absent" in run.output
    assert nginx_dav.password not in run.output
