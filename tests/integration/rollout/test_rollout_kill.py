"""kill -9 of ansible-playbook in the middle of a deploy; the next run converges.

The playbook runs in its own session; it and every descendant (workers, the module, hooks) get SIGKILL
once a marker file shows it reached the point under test: after the unpack (an after_unpack hook), or inside the switch
between creating the temporary link and renaming it (the engine's test pause).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import yaml

from tests.support.kill import kill_tree
from tests.support.paths import ROOT, VENV_BIN
from tests.support.playbook import ansible_env, run_tasks
from tests.support.rollout import app_health, app_service, get_json, read_state

SLEEPER = "import os, pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text(str(os.getpid())); time.sleep(120)"


def task(target, artifact, version, **extra) -> dict:
    args = {
        "root": str(target.root),
        "artifact_path": artifact[0],
        "version": version,
        "service": app_service(target.port),
        "health": app_health(target.port),
    }
    args.update(extra)
    return {"name": "Deploy", "conveyor.cicd.app_rollout": args}


def kill_when(tmp_path: Path, tasks: list, marker: Path, environment: dict | None = None) -> None:
    play = {"name": "deploy", "hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}
    if environment:
        play["environment"] = environment
    playbook = tmp_path / "killed.yml"
    playbook.write_text(yaml.safe_dump([play], sort_keys=False))
    proc = subprocess.Popen(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)],
        cwd=ROOT,
        env=ansible_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (marker.exists() and marker.read_text()):
            assert proc.poll() is None, "the playbook ended before reaching the marker"
            assert time.monotonic() < deadline, "the playbook never reached the marker"
            time.sleep(0.05)
        kill_tree(proc.pid)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def assert_converged(root: Path, version: str, port: int) -> None:
    state = read_state(root)
    current = os.readlink(root / "current")
    assert current.startswith(f"releases/{version}-")
    active = [r for r in state["releases"] if r["status"] == "active"]
    assert [f"releases/{r['id']}" for r in active] == [current]
    assert sorted(os.listdir(root / "releases")) == sorted(r["id"] for r in state["releases"])
    assert not [name for name in os.listdir(root) if ".tmp-" in name or name in (".staging", ".trash")]
    assert get_json(f"http://127.0.0.1:{port}/version")[1]["version"] == version


def test_kill_during_unpack_then_rerun_converges(tmp_path, target, releases):
    assert run_tasks(tmp_path, [task(target, releases["1.0.0"], "1.0.0")]).rc == 0
    marker = tmp_path / "unpacked"
    hook = {"after_unpack": [["python3", "-c", SLEEPER, str(marker)]]}
    kill_when(tmp_path, [task(target, releases["2.0.0"], "2.0.0", hooks=hook)], marker)

    # killed: the old release still serves, the half-done release is only in the staging area
    assert os.readlink(target.root / "current").startswith("releases/1.0.0-")
    assert (target.root / ".staging").exists()
    assert len(os.listdir(target.root / "releases")) == 1
    json.loads((target.root / "releases.json").read_text())

    run = run_tasks(tmp_path, [task(target, releases["2.0.0"], "2.0.0")])
    assert run.rc == 0, run.output
    assert any("unfinished work" in note for note in run.result("Deploy")["repaired"])
    assert_converged(target.root, "2.0.0", target.port)


def test_kill_during_switch_then_rerun_converges(tmp_path, target, releases):
    assert run_tasks(tmp_path, [task(target, releases["1.0.0"], "1.0.0")]).rc == 0
    marker = tmp_path / "switching"
    kill_when(
        tmp_path,
        [task(target, releases["2.0.0"], "2.0.0")],
        marker,
        environment={"_CONVEYOR_ROLLOUT_PAUSE_IN_SWITCH": str(marker)},
    )
    # killed between the temporary link and the rename: current is untouched and valid
    assert os.readlink(target.root / "current").startswith("releases/1.0.0-")
    assert [name for name in os.listdir(target.root) if name.startswith("current.tmp-")]
    assert get_json(f"http://127.0.0.1:{target.port}/version")[1]["version"] == "1.0.0"
    pending = [r for r in read_state(target.root)["releases"] if r["status"] == "pending"]
    assert [r["version"] for r in pending] == ["2.0.0"]

    run = run_tasks(tmp_path, [task(target, releases["2.0.0"], "2.0.0")])
    assert run.rc == 0, run.output
    assert run.result("Deploy")["unpacked"] is False
    assert_converged(target.root, "2.0.0", target.port)
    assert run_tasks(tmp_path, [task(target, releases["2.0.0"], "2.0.0")]).result("Deploy")["changed"] is False
