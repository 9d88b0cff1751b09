"""The release flows forward through its manifest: publish records it, deploy run alone takes the release from it."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.support.paths import ROOT
from tests.support.playbook import run_playbook
from tests.support.rollout import get_json, local_inventory, publish, stop_hosts
from tests.support.servers import free_port

NAME = "conveyor-sample-app"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
COMMIT_TIME = "2024-05-01T12:00:00+00:00"


@pytest.fixture
def env(tmp_path):
    state = tmp_path / "state"
    ports = {"app1": free_port()}
    inventory = local_inventory(tmp_path, state, ports)
    yield {"state": state, "ports": ports, "inventory": str(inventory), "tmp": tmp_path}
    stop_hosts(state)


def manifest_for(version: str, artifact: tuple[str, str]) -> dict:
    filename = f"{NAME}-{version}.tar.gz"
    return {
        "schema": 1,
        "name": NAME,
        "version": version,
        "git": {"commit": COMMIT, "commit_time": COMMIT_TIME},
        "artifacts": [
            {"name": filename, "format": "tar.gz", "sha256": artifact[1], "size": os.path.getsize(artifact[0])}
        ],
        "build": {},
        "tests": {},
    }


def package(env, version: str, artifact: tuple[str, str]) -> str:
    """What the package stage leaves behind: the artifact and its manifest side by side."""
    dist = env["tmp"] / "dist" / version
    dist.mkdir(parents=True)
    shutil.copy(artifact[0], dist / f"{NAME}-{version}.tar.gz")
    path = dist / f"{NAME}-{version}.manifest.json"
    path.write_text(json.dumps(manifest_for(version, artifact)))
    return str(path)


def publish_stage(env, manifest: str):
    extra = {"conveyor_state_dir": str(env["state"]), "publish_manifest": manifest}
    return run_playbook(ROOT / "playbooks" / "publish.yml", inventory=env["inventory"], extra_vars=extra)


def deploy_stage(env, **extra):
    extra_vars = {"deploy_environment": "staging", "deploy_strategy": "rolling", **extra}
    return run_playbook(ROOT / "playbooks" / "deploy.yml", inventory=env["inventory"], extra_vars=extra_vars)


def version_on(env, host="app1") -> str:
    return get_json(f"http://127.0.0.1:{env['ports'][host]}/version")[1]["version"]


def test_publish_records_the_manifest_and_deploy_alone_takes_the_release_from_it(env, releases):
    manifest = package(env, "2.0.0", releases["2.0.0"])
    published = publish_stage(env, manifest)
    assert published.rc == 0, published.output
    record = env["state"] / "release" / "current.manifest.json"
    stored = env["state"] / "artifacts" / "staging" / NAME / "2.0.0" / f"{NAME}-2.0.0.manifest.json"
    assert json.loads(record.read_text()) == json.loads(stored.read_text())
    again = publish_stage(env, manifest)
    assert again.rc == 0 and again.stats["localhost"]["changed"] == 0, again.output

    deployed = deploy_stage(env)
    assert deployed.rc == 0, deployed.output
    assert version_on(env) == "2.0.0"
    rollout = deployed.result("Roll out the release", host="app1")
    assert rollout["conveyor_deploy"]["version"] == "2.0.0"
    # the commit and its time reach the pipeline_events callback for the lead time
    assert rollout["conveyor_deploy"]["commit"] == COMMIT
    assert rollout["conveyor_deploy"]["commit_time"] == COMMIT_TIME


def test_conveyor_release_wins_over_the_record_and_deploy_version_over_both(env, releases):
    assert publish_stage(env, package(env, "1.0.0", releases["1.0.0"])).rc == 0
    publish(env["state"] / "artifacts" / "staging", NAME, "2.0.0", releases["2.0.0"])
    publish(env["state"] / "artifacts" / "staging", NAME, "3.0.0", releases["3.0.0"])
    # as an AWX workflow node receives it from the publish job's set_stats
    release = {"name": NAME, "version": "2.0.0", "manifest": manifest_for("2.0.0", releases["2.0.0"])}
    first = deploy_stage(env, conveyor_release=release)
    assert first.rc == 0, first.output
    assert version_on(env) == "2.0.0"
    assert first.result("Roll out the release", host="app1")["conveyor_deploy"]["commit"] == COMMIT

    explicit = deploy_stage(env, conveyor_release=release, deploy_version="3.0.0")
    assert explicit.rc == 0, explicit.output
    assert version_on(env) == "3.0.0"
    # the record describes another release: its commit is not this one's
    assert explicit.result("Roll out the release", host="app1")["conveyor_deploy"]["commit"] is None

    recorded = deploy_stage(env)
    assert recorded.rc == 0, recorded.output
    assert version_on(env) == "1.0.0"


def test_an_artifact_that_is_not_the_recorded_one_is_not_deployed(env, releases):
    assert publish_stage(env, package(env, "1.0.0", releases["1.0.0"])).rc == 0
    record = env["state"] / "release" / "current.manifest.json"
    manifest = json.loads(record.read_text())
    manifest["artifacts"][0]["sha256"] = "0" * 64
    record.write_text(json.dumps(manifest))
    run = deploy_stage(env)
    assert run.rc != 0
    assert "0" * 64 in run.output
    assert not (env["state"] / "hosts" / "app1" / "current").exists()


def test_without_a_record_the_deploy_says_which_stage_to_run_first(env):
    run = deploy_stage(env)
    assert run.rc != 0
    lines = [line for line in run.output.splitlines() if "No release to deploy" in line]
    assert lines, run.output
    assert "run the publish stage first" in lines[0] and "conveyor_release" in lines[0]
    failed = run.result("Check that there is a release to deploy", host="app1")
    assert "\n" not in failed["msg"].strip()
    assert not (env["state"] / "hosts" / "app1").exists()
