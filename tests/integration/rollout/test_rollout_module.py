"""conveyor.cicd.app_rollout through real ansible-playbook runs, serving the real sample app."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from tests.support.playbook import run_tasks
from tests.support.rollout import app_health, app_service, get_json, read_state, statuses


def rollout_task(target, artifact, version, name="Deploy", **extra) -> dict:
    args = {
        "root": str(target.root),
        "artifact_path": artifact[0],
        "version": version,
        "service": app_service(target.port),
        "health": app_health(target.port),
        "shared_paths": ["logs/"],
    }
    args.update(extra)
    return {"name": name, "conveyor.cicd.app_rollout": args}


def test_successful_deploy_serves_the_new_version(tmp_path, target, releases):
    run = run_tasks(tmp_path, [rollout_task(target, releases["1.0.0"], "1.0.0")])
    assert run.rc == 0, run.output
    result = run.result("Deploy")
    assert result["changed"] is True
    assert result["health"]["ok"] is True
    assert result["current_release"] == result["release_id"]
    assert get_json(f"http://127.0.0.1:{target.port}/version")[1]["version"] == "1.0.0"
    assert os.path.islink(target.root / "current" / "logs")
    assert statuses(target.root) == {result["release_id"]: "active"}


def test_health_check_module_re_checks_the_served_version(tmp_path, target, releases):
    assert run_tasks(tmp_path, [rollout_task(target, releases["1.0.0"], "1.0.0")]).rc == 0
    url = f"http://127.0.0.1:{target.port}/version"
    checks = {"url": url, "json_field": "version", "successes": 3, "retries": 0, "delay": 0.1}
    tasks = [
        {"name": "Same version", "conveyor.cicd.health_check": dict(checks, json_value="1.0.0")},
        {
            "name": "Other version",
            "conveyor.cicd.health_check": dict(checks, json_value="2.0.0", fail_on_unhealthy=False),
        },
        {"name": "Must be other", "conveyor.cicd.health_check": dict(checks, json_value="2.0.0")},
    ]
    for check_mode in (False, True):  # probing only reads: check mode probes the same way
        run = run_tasks(tmp_path, tasks, check=check_mode)
        assert run.rc != 0
        same, other, must = run.result("Same version"), run.result("Other version"), run.result("Must be other")
        assert same["healthy"] is True and same["attempts"] == 3 and same["changed"] is False
        assert other["healthy"] is False and other["attempts"] == 1 and "failed" not in other
        assert must["failed"] is True
        assert must["msg"] == (
            f"{url} is not healthy after 1 attempt: JSON field 'version' is '1.0.0', expected '2.0.0'"
        )


def test_same_release_twice_is_unchanged_and_not_restarted(tmp_path, target, releases):
    task = rollout_task(target, releases["1.0.0"], "1.0.0")
    assert run_tasks(tmp_path, [task]).rc == 0
    pid = (target.root / "shared" / "run" / "app.pid").read_text()
    run = run_tasks(tmp_path, [task])
    assert run.rc == 0, run.output
    assert run.result("Deploy")["changed"] is False
    assert run.result("Deploy")["restarted"] is False
    assert (target.root / "shared" / "run" / "app.pid").read_text() == pid
    check = run_tasks(tmp_path, [task], check=True)
    assert check.result("Deploy")["changed"] is False


def test_failing_health_check_restores_previous_release(tmp_path, target, releases):
    assert run_tasks(tmp_path, [rollout_task(target, releases["1.0.0"], "1.0.0")]).rc == 0
    bad = rollout_task(target, releases["broken"], "9.9.9", health=app_health(target.port, retries=5))
    run = run_tasks(tmp_path, [bad])
    assert run.rc != 0
    result = run.result("Deploy")
    assert result["failed"] is True
    assert "health check of release 9.9.9-" in result["msg"] and "rolled back to 1.0.0-" in result["msg"]
    assert result["rolled_back"] is True
    assert result["current_release"].startswith("1.0.0-")
    assert get_json(f"http://127.0.0.1:{target.port}/version") == (
        200,
        {"name": "conveyor-sample-app", "version": "1.0.0", "commit": None},
    )
    assert sorted(statuses(target.root).values()) == ["active", "failed"]


def test_keep_releases_with_failed_releases_keeps_the_good_ones(tmp_path, target, releases):
    tasks = [rollout_task(target, releases[v], v, name=f"Deploy {v}", keep_releases=2) for v in ("1.0.0", "2.0.0")]
    assert run_tasks(tmp_path, tasks).rc == 0
    for attempt in range(3):  # three failed deploys of distinct broken releases
        bad = rollout_task(
            target,
            releases["broken"],
            "9.9.9",
            name="Deploy broken",
            release_id=f"broken-{attempt}",
            keep_releases=2,
            keep_failed_releases=1,
            health=app_health(target.port, retries=2),
        )
        assert run_tasks(tmp_path, [bad]).rc != 0
    run = run_tasks(tmp_path, [rollout_task(target, releases["3.0.0"], "3.0.0", name="Deploy 3", keep_releases=2)])
    assert run.rc == 0, run.output
    final = statuses(target.root)
    assert [s for s in final.values() if s in ("active", "previous")] == ["previous", "active"]
    assert list(final) == [k for k in final if k.startswith(("2.0.0-", "broken-2", "3.0.0-"))]
    assert sorted(os.listdir(target.root / "releases")) == sorted(final)
    assert get_json(f"http://127.0.0.1:{target.port}/version")[1]["version"] == "3.0.0"


def test_malicious_artifact_is_refused(tmp_path, target, releases):
    from tests.unit.archive.test_archive_unpack_corpus import make_tar, tar_member

    assert run_tasks(tmp_path, [rollout_task(target, releases["1.0.0"], "1.0.0")]).rc == 0
    for number, members in enumerate(
        (
            [tar_member("src/ok.py", data=b"x"), tar_member("../../outside.txt", data=b"x")],
            [tar_member("src/ok.py", data=b"x"), tar_member("escape", kind="symlink", linkname="/etc")],
            [tar_member("src/ok.py", data=b"x"), tar_member("dev", kind="chr")],
        )
    ):
        evil = tmp_path / f"evil-{number}.tar.gz"
        make_tar(evil, members)
        run = run_tasks(tmp_path, [rollout_task(target, (str(evil), ""), "6.6.6")])
        assert run.rc != 0
        message = run.result("Deploy")["msg"]
        assert "\n" not in message and "Traceback" not in message
        assert len(os.listdir(target.root / "releases")) == 1
        assert not (target.root / ".staging").exists()
        assert not (tmp_path / "outside.txt").exists()
    assert get_json(f"http://127.0.0.1:{target.port}/version")[1]["version"] == "1.0.0"


def test_truncated_artifact_is_refused_and_the_current_release_stays(tmp_path, target, releases):
    import gzip
    import tarfile

    first = run_tasks(tmp_path, [rollout_task(target, releases["1.0.0"], "1.0.0")])
    assert first.rc == 0, first.output
    live = first.result("Deploy")["release_id"]
    whole = Path(releases["2.0.0"][0]).read_bytes()
    plain = gzip.decompress(whole)
    with tarfile.open(releases["2.0.0"][0]) as archive:
        boundary = archive.getmembers()[len(archive.getmembers()) // 2].offset
    for number, (suffix, data) in enumerate(
        (("tar", plain[:boundary]), ("tar.gz", whole[:-4]), ("tar.gz", whole[: len(whole) // 2]))
    ):
        cut = tmp_path / f"cut-{number}.{suffix}"
        cut.write_bytes(data)
        run = run_tasks(tmp_path, [rollout_task(target, (str(cut), ""), "2.0.0")])
        assert run.rc != 0
        message = run.result("Deploy")["msg"]
        assert f"archive 'cut-{number}.{suffix}' is truncated or damaged" in message
        assert "\n" not in message and "Traceback" not in message
        assert os.listdir(target.root / "releases") == [live]
        assert not (target.root / ".staging").exists()
        assert os.readlink(target.root / "current").endswith(live)
        assert statuses(target.root) == {live: "active"}
    assert get_json(f"http://127.0.0.1:{target.port}/version")[1]["version"] == "1.0.0"


def test_manual_rollback_and_roll_forward(tmp_path, target, releases):
    tasks = [rollout_task(target, releases[v], v, name=f"Deploy {v}") for v in ("1.0.0", "2.0.0")]
    assert run_tasks(tmp_path, tasks).rc == 0
    back = {
        "name": "Roll back",
        "conveyor.cicd.app_rollout": {
            "root": str(target.root),
            "state": "rolled_back",
            "service": app_service(target.port),
            "health": app_health(target.port),
        },
    }
    run = run_tasks(tmp_path, [back])
    assert run.rc == 0, run.output
    assert run.result("Roll back")["current_release"].startswith("1.0.0-")
    assert get_json(f"http://127.0.0.1:{target.port}/version")[1]["version"] == "1.0.0"
    again = run_tasks(tmp_path, [back])
    assert again.result("Roll back")["changed"] is False
    forward = json.loads(json.dumps(back))
    forward["conveyor.cicd.app_rollout"]["rollback_to"] = [r["id"] for r in read_state(target.root)["releases"]][1]
    assert run_tasks(tmp_path, [forward]).rc == 0
    assert get_json(f"http://127.0.0.1:{target.port}/version")[1]["version"] == "2.0.0"


def test_bad_parameters_fail_with_one_line(tmp_path, target, releases):
    run = run_tasks(
        tmp_path,
        [
            {
                "name": "Deploy",
                "conveyor.cicd.app_rollout": {"root": str(target.root), "artifact_url": "https://x/a.tgz"},
            }
        ],
    )
    assert run.rc != 0
    assert run.result("Deploy")["msg"] == "artifact_url needs artifact_sha256: an unverified download is never deployed"


def test_service_secrets_reach_the_app_in_its_environment_only(tmp_path, target, releases):
    marker = "s3cr3t-7f41c2"
    service = app_service(target.port)
    at = service["start"].index("--database")
    del service["start"][at : at + 2]
    task = rollout_task(
        target,
        releases["1.0.0"],
        "1.0.0",
        service=service,
        service_secrets={"SAMPLE_APP_DATABASE": f"{{shared}}/db-{marker}.db"},
    )
    run = run_tasks(tmp_path, [task], args=("-vvv",))
    assert run.rc == 0, run.output
    # /healthz opens the database the app was given
    assert get_json(f"http://127.0.0.1:{target.port}/healthz")[1]["database"] == "ok"
    assert (target.root / "shared" / f"db-{marker}.db").is_file()
    pid = int((target.root / "shared" / "run" / "app.pid").read_text())
    with open(f"/proc/{pid}/cmdline", "rb") as handle:
        assert marker.encode() not in handle.read()
    with open(f"/proc/{pid}/environ", "rb") as handle:
        assert f"SAMPLE_APP_DATABASE={target.root}/shared/db-{marker}.db".encode() in handle.read().split(b"\0")
    assert marker not in run.output
    assert marker not in json.dumps(run.result("Deploy"))


def test_a_failing_service_quoting_part_of_a_secret_does_not_leak_it(tmp_path, target, releases):
    secret = "Zq7-d4tabase-passw0rd-81"
    service = dict(
        app_service(target.port),
        start=["sh", "-c", 'echo "auth failed for ${APP_DB_PASSWORD#Zq7-}"; exit 3'],  # quotes a part only
        start_timeout=5,
    )
    task = rollout_task(
        target, releases["1.0.0"], "1.0.0", service=service, service_secrets={"APP_DB_PASSWORD": secret}
    )
    events = tmp_path / "events.db"
    run = run_tasks(
        tmp_path,
        [task],
        env={"ANSIBLE_CALLBACKS_ENABLED": "conveyor.cicd.pipeline_events", "CONVEYOR_EVENTS_DB": str(events)},
    )
    result = run.result("Deploy")
    assert result["failed"] is True
    assert "last log line: auth failed for ********" in result["msg"], result["msg"]
    for start in range(len(secret) - 7):
        assert secret[start : start + 8] not in run.output
    stored = sqlite3.connect(events).execute("SELECT message FROM failures").fetchall()
    assert stored and all(secret[4:12] not in row[0] for row in stored)
    assert stat.S_IMODE(events.stat().st_mode) == 0o600


def test_service_secrets_are_refused_for_a_systemd_unit(tmp_path, target, releases):
    task = rollout_task(
        target,
        releases["1.0.0"],
        "1.0.0",
        service={"manager": "systemd", "unit": "app.service"},
        service_secrets={"TOKEN": "t0ken-value-91"},
    )
    run = run_tasks(tmp_path, [task])
    result = run.result("Deploy")
    assert result["failed"] is True
    assert "EnvironmentFile" in result["msg"] and "\n" not in result["msg"]
    assert "t0ken-value-91" not in run.output


@pytest.mark.parametrize("in_process", [True, False])
def test_credentials_in_a_health_url_are_used_and_never_shown(tmp_path, target, releases, in_process):
    password = "hEalth-pr0be-passw0rd"
    health = dict(app_health(target.port), url=f"http://probe:{password}@127.0.0.1:{target.port}/version")
    extra = {"conveyor_in_process": in_process}
    run = run_tasks(tmp_path, [rollout_task(target, releases["1.0.0"], "1.0.0", health=health)], extra_vars=extra)
    assert run.rc == 0, run.output  # the userinfo is sent as basic auth, not resolved as a host name
    failing = dict(health, url=f"http://probe:{password}@127.0.0.1:{target.port}/missing", retries=2)
    run = run_tasks(
        tmp_path, [rollout_task(target, releases["broken"], "9.9.9", health=failing)], args=("-vvvv",), extra_vars=extra
    )
    assert run.rc != 0
    assert "health check of release 9.9.9-" in run.result("Deploy")["msg"]
    assert password not in run.output
    assert "probe:********@127.0.0.1" in json.dumps(run.result("Deploy")["health"])


def test_diff_shows_the_release_that_becomes_current_and_check_mode_predicts_it(tmp_path, target, releases):
    ids = []
    for version in ("1.0.0", "2.0.0"):
        run = run_tasks(tmp_path, [rollout_task(target, releases[version], version)])
        assert run.rc == 0, run.output
        ids.append(run.result("Deploy")["release_id"])
    task = rollout_task(target, releases["3.0.0"], "3.0.0", keep_releases=1)
    predicted = run_tasks(tmp_path, [task], args=("--diff",), check=True).result("Deploy")
    real = run_tasks(tmp_path, [task], args=("--diff",)).result("Deploy")
    new = real["release_id"]
    before = f"current: {ids[1]}\nreleases:\n  {ids[1]}: active\n  {ids[0]}: previous\n"
    after = f"current: {new}\nreleases:\n  {new}: active\n  {ids[1]}: previous\n"  # the oldest is pruned
    assert predicted["diff"]["before"] == real["diff"]["before"] == before
    assert predicted["diff"]["after"] == real["diff"]["after"] == after
    assert predicted["pruned"] == real["pruned"] == [ids[0]]
    again = run_tasks(tmp_path, [task], args=("--diff",)).result("Deploy")
    assert again["changed"] is False and "diff" not in again
