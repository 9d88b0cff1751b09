"""The artifact_* modules through real ansible-playbook runs against SeaweedFS, nginx and a directory."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.support.playbook import run_playbook, run_tasks

pytestmark = pytest.mark.integration


def make_release(directory, version="1.0.0", content=b"tarball"):
    directory.mkdir(parents=True, exist_ok=True)
    records = []
    for filename, data in ((f"app-{version}.tar.gz", content), (f"app-{version}.zip", content * 2)):
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
        "name": "app",
        "version": version,
        "git": {"commit": "c0ffee", "commit_time": 1},
        "source_date_epoch": 1,
        "artifacts": records,
        "build": {},
        "tests": {"passed": 12},
    }
    path = directory / f"app-{version}.manifest.json"
    path.write_text(json.dumps(manifest))
    return str(path)


def lifecycle_tasks(conn: dict, dest_repository: str, tmp_path) -> list[dict]:
    manifests = {v: make_release(tmp_path / v, version=v) for v in ("1.0.0", "1.1.0", "1.2.0-rc.1")}
    upload = {"conveyor.cicd.artifact_upload": dict(conn, manifest=manifests["1.0.0"])}
    return [
        {"name": "plan upload", "check_mode": True, **upload},
        {"name": "upload", **upload},
        {"name": "upload again", **upload},
        *(
            {"name": f"upload {v}", "conveyor.cicd.artifact_upload": dict(conn, manifest=manifests[v])}
            for v in ("1.1.0", "1.2.0-rc.1")
        ),
        {
            "name": "conflicting upload",
            "ignore_errors": True,
            "conveyor.cicd.artifact_upload": dict(
                conn,
                name="app",
                version="1.0.0",
                files=[
                    make_release(tmp_path / "other", content=b"x").replace(
                        "app-1.0.0.manifest.json", "app-1.0.0.tar.gz"
                    )
                ],
            ),
        },
        {"name": "info", "conveyor.cicd.artifact_info": dict(conn, name="app")},
        {
            "name": "plan fetch",
            "check_mode": True,
            "conveyor.cicd.artifact_fetch": dict(conn, name="app", version="latest", dest=str(tmp_path / "out")),
        },
        {
            "name": "fetch",
            "conveyor.cicd.artifact_fetch": dict(conn, name="app", version="latest", dest=str(tmp_path / "out")),
        },
        {
            "name": "fetch again",
            "conveyor.cicd.artifact_fetch": dict(conn, name="app", version="latest", dest=str(tmp_path / "out")),
        },
        {
            "name": "promote",
            "conveyor.cicd.artifact_promote": dict(conn, name="app", version="1.1.0", dest_repository=dest_repository),
        },
        {
            "name": "promote again",
            "conveyor.cicd.artifact_promote": dict(conn, name="app", version="1.1.0", dest_repository=dest_repository),
        },
        {
            "name": "plan prune",
            "check_mode": True,
            "conveyor.cicd.artifact_prune": dict(conn, keep=1, keep_prereleases=1, protect=["1.0.0"]),
        },
        {"name": "prune", "conveyor.cicd.artifact_prune": dict(conn, keep=1)},
        {"name": "prune again", "conveyor.cicd.artifact_prune": dict(conn, keep=1)},
    ]


def check_lifecycle(run, tmp_path):
    assert run.rc == 0, run.output[-3000:]
    planned, uploaded, again = run.result("plan upload"), run.result("upload"), run.result("upload again")
    assert planned["changed"] and sorted(planned["uploaded"]) == ["app-1.0.0.tar.gz", "app-1.0.0.zip"]
    assert uploaded["changed"] and uploaded["uploaded"] == planned["uploaded"]
    assert not again["changed"] and again["uploaded"] == []
    conflict = run.result("conflicting upload")
    assert conflict["failed"] and "versions are immutable" in conflict["msg"] and "Traceback" not in conflict["msg"]
    info = run.result("info")
    assert [r["version"] for r in info["releases"]["app"]] == ["1.2.0-rc.1", "1.1.0", "1.0.0"]
    assert info["latest"]["app"] == "1.1.0" and info["releases"]["app"][1]["tests"] == {"passed": 12}
    assert run.result("plan fetch")["changed"] and run.result("fetch")["changed"]
    assert not run.result("fetch again")["changed"]
    assert (tmp_path / "out" / "app-1.1.0.tar.gz").read_bytes() == b"tarball"
    assert run.result("promote")["changed"] and not run.result("promote again")["changed"]
    planned_prune = run.result("plan prune")
    assert [d["version"] for d in planned_prune["deleted"]] == []  # 1.1.0 and rc kept, 1.0.0 protected
    assert [d["version"] for d in run.result("prune")["deleted"]] == ["1.1.0", "1.0.0"]
    assert not run.result("prune again")["changed"]
    return run


def test_lifecycle_against_seaweedfs(s3_options, tmp_path):
    dest = "s3://releases/" + s3_options["repository"].rsplit("/", 1)[1]
    run = run_tasks(tmp_path, lifecycle_tasks(s3_options, dest, tmp_path))
    check_lifecycle(run, tmp_path)
    assert run.result("promote")["server_side"] == ["app-1.1.0.tar.gz", "app-1.1.0.zip"]
    assert s3_options["secret_key"] not in run.output


def test_lifecycle_against_nginx_promoting_to_a_directory(http_options, tmp_path):
    run = run_tasks(tmp_path, lifecycle_tasks(http_options, f"file://{tmp_path}/release", tmp_path))
    check_lifecycle(run, tmp_path)
    assert run.result("promote")["server_side"] == []
    assert (tmp_path / "release/app/1.1.0/app-1.1.0.manifest.json").exists()
    assert http_options["password"] not in run.output


@pytest.mark.parametrize("backend", ["s3", "http"])
def test_secrets_never_appear_in_output_even_on_failure(backend, s3_options, http_options, tmp_path):
    secret = "leak-canary-" + backend + "-5e1f"
    conn = dict(s3_options, secret_key=secret) if backend == "s3" else dict(http_options, password=secret)
    (tmp_path / "app.tar.gz").write_bytes(b"x")
    tasks = [
        {
            "name": "upload with a wrong secret",
            "conveyor.cicd.artifact_upload": dict(
                conn, name="app", version="1.0.0", files=[str(tmp_path / "app.tar.gz")]
            ),
        }
    ]
    run = run_tasks(tmp_path, tasks, callback="default")
    assert run.rc != 0
    assert secret not in run.output
    verbose = run_playbook(tmp_path / "play.yml", "-vvv", inventory="localhost,", callback="default")
    assert verbose.rc != 0 and secret not in verbose.output
    assert ("403" if backend == "s3" else "401") in run.output


def test_bad_input_gives_one_line_and_uploads_nothing(tmp_path):
    manifest = make_release(tmp_path / "dist")
    (tmp_path / "dist" / "app-1.0.0.zip").write_bytes(b"changed after packaging")
    repo = f"file://{tmp_path}/repo"
    run = run_tasks(
        tmp_path,
        [
            {
                "name": "tampered",
                "ignore_errors": True,
                "conveyor.cicd.artifact_upload": {"repository": repo, "manifest": manifest},
            },
            {
                "name": "no version",
                "ignore_errors": True,
                "conveyor.cicd.artifact_upload": {"repository": repo, "files": [manifest], "name": "app"},
            },
            {
                "name": "bad scheme",
                "ignore_errors": True,
                "conveyor.cicd.artifact_info": {"repository": "ftp://example.invalid/x"},
            },
            {
                "name": "missing version",
                "ignore_errors": True,
                "conveyor.cicd.artifact_fetch": {
                    "repository": repo,
                    "name": "app",
                    "version": "9.9.9",
                    "dest": str(tmp_path / "out"),
                },
            },
        ],
    )
    assert "does not match the manifest" in run.result("tampered")["msg"]
    assert "version" in run.result("no version")["msg"]
    assert "has an unsupported scheme" in run.result("bad scheme")["msg"]
    assert "is not in" in run.result("missing version")["msg"]
    for name in ("tampered", "no version", "bad scheme", "missing version"):
        assert "\n" not in run.result(name)["msg"] and "Traceback" not in run.result(name)["msg"]
    assert not (tmp_path / "repo").exists() and not (tmp_path / "out").exists()
