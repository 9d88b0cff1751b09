"""The release-directory state machine: pruning rules, atomic switch, repair, artifact sources."""

from __future__ import annotations

import errno
import json
import os
import threading
import time

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _rollout
from ansible_collections.conveyor.cicd.plugins.module_utils._archive import ArchiveError
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._rollout import (
    Layout,
    current_release,
    plan_prune,
    previous_good,
    read_state,
    repair,
    rollout,
    switch_symlink,
    write_state,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._service import make_service
from tests.support.rollout import make_release


def state_of(*pairs, last_rollback=None) -> dict:
    """A state with releases r1..rn (oldest first) and the given statuses."""
    releases = [
        {"id": rid, "version": rid, "sha256": None, "deployed_at": "", "status": status, "seq": n}
        for n, (rid, status) in enumerate(pairs, 1)
    ]
    return {"schema": 1, "releases": releases, "last_rollback": last_rollback}


# ------------------------------------------------------------------------------------------- pruning
def test_prune_keeps_newest_healthy_releases():
    state = state_of(("r1", "previous"), ("r2", "previous"), ("r3", "previous"), ("r4", "active"))
    assert plan_prune(state, keep=2, keep_failed=0, current="r4") == ["r1", "r2"]


def test_failed_releases_do_not_take_keep_slots():
    # With Capistrano's rule the three failures would fill keep=3 and delete r1, the last good release.
    state = state_of(("r1", "previous"), ("r2", "active"), ("f1", "failed"), ("f2", "failed"), ("f3", "failed"))
    doomed = plan_prune(state, keep=3, keep_failed=1, current="r2")
    assert doomed == ["f1", "f2"]
    assert "r1" not in doomed


def test_prune_never_touches_current_previous_good_or_protected():
    state = state_of(("r1", "previous"), ("r2", "previous"), ("r3", "active"), ("f1", "failed"))
    # keep=1 would only keep r3; r2 is the previous good release and r1 is protected
    assert plan_prune(state, keep=1, keep_failed=0, protect=["r1"], current="r3") == ["f1"]


def test_prune_spares_the_release_just_rolled_back_from():
    state = state_of(
        ("r1", "active"), ("r2", "rolled_back"), ("f1", "failed"), last_rollback={"from": "r2", "to": "r1"}
    )
    assert plan_prune(state, keep=1, keep_failed=0, current="r1") == ["f1"]


def test_prune_rejects_keep_zero():
    with pytest.raises(ConfigurationError, match="keep_releases must be 1 or more"):
        plan_prune(state_of(("r1", "active")), keep=0, keep_failed=0, current="r1")


def test_previous_good_skips_failed_and_rolled_back():
    state = state_of(("r1", "previous"), ("r2", "rolled_back"), ("r3", "failed"), ("r4", "active"))
    assert previous_good(state, "r4") == "r1"
    assert previous_good(state_of(("r1", "active")), "r1") is None


# ----------------------------------------------------------------------------------- atomic switch
def test_switch_replaces_the_link_in_one_rename(tmp_path):
    (tmp_path / "releases" / "a").mkdir(parents=True)
    (tmp_path / "releases" / "b").mkdir()
    link = tmp_path / "current"
    switch_symlink(str(link), "releases/a")
    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            try:
                seen.add(os.readlink(link))
            except FileNotFoundError:
                seen.add(None)

    watcher = threading.Thread(target=watch)
    watcher.start()
    for round_no in range(300):
        switch_symlink(str(link), "releases/b" if round_no % 2 == 0 else "releases/a")
    stop.set()
    watcher.join()
    assert None not in seen, "current was missing for a moment"
    assert seen <= {"releases/a", "releases/b"}
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_killed_switch_leaves_the_old_link_and_repair_removes_the_temporary_one(tmp_path):
    layout = Layout(str(tmp_path))
    layout.ensure()
    (tmp_path / "releases" / "a").mkdir()
    switch_symlink(layout.current, "releases/a")
    os.symlink("releases/b", f"{layout.current}.tmp-4242")  # what a kill between symlink and rename leaves
    state = state_of(("a", "active"))
    repaired, notes = repair(layout, state)
    assert current_release(layout) == "a"
    assert not os.path.lexists(f"{layout.current}.tmp-4242")
    assert any("temporary link" in note for note in notes)
    assert repaired["releases"][0]["status"] == "active"


def test_pause_in_switch_env_pauses_between_link_and_rename(tmp_path, monkeypatch):
    (tmp_path / "releases" / "a").mkdir(parents=True)
    marker = tmp_path / "paused"
    monkeypatch.setenv(_rollout.PAUSE_IN_SWITCH_ENV, str(marker))
    monkeypatch.setattr(_rollout.time, "sleep", lambda _seconds: None)
    switch_symlink(str(tmp_path / "current"), "releases/a")
    assert marker.read_text() == str(os.getpid())


# --------------------------------------------------------------------------------------- repair
def test_repair_adopts_an_unrecorded_current_and_drops_orphans(tmp_path):
    layout = Layout(str(tmp_path))
    layout.ensure()
    for name in ("a", "b", "orphan"):
        (tmp_path / "releases" / name).mkdir()
    switch_symlink(layout.current, "releases/b")
    (tmp_path / ".staging" / "half").mkdir(parents=True)
    state = state_of(("a", "active"), ("gone", "previous"))
    repaired, notes = repair(layout, state)
    assert {item["id"]: item["status"] for item in repaired["releases"]} == {"a": "previous", "b": "active"}
    assert not (tmp_path / "releases" / "orphan").exists()
    assert not (tmp_path / ".staging").exists()
    assert len(notes) == 5


def test_repair_in_check_mode_touches_nothing(tmp_path):
    layout = Layout(str(tmp_path))
    layout.ensure()
    (tmp_path / "releases" / "orphan").mkdir()
    repair(layout, state_of(), check_mode=True)
    assert (tmp_path / "releases" / "orphan").is_dir()


# ----------------------------------------------------------------------------------- state file
def test_state_file_is_replaced_atomically_and_round_trips(tmp_path):
    layout = Layout(str(tmp_path))
    layout.ensure()
    state = state_of(("a", "active"))
    write_state(layout, state)
    assert read_state(layout) == state
    assert sorted(os.listdir(tmp_path)) == ["releases", "releases.json", "shared"]


def test_damaged_state_file_is_one_clear_line(tmp_path):
    (tmp_path / "releases.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match="is not valid JSON"):
        read_state(Layout(str(tmp_path)))


# ------------------------------------------------------------------------------ deploy without a service
@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    directory = tmp_path_factory.mktemp("artifacts")
    return {v: make_release(directory, v) for v in ("1.0.0", "2.0.0", "3.0.0")}


def deploy(root, artifact, version, **extra):
    return rollout(dict(root=str(root), artifact_path=artifact[0], version=version, **extra))


def test_deploy_switch_and_same_release_again_is_unchanged(tmp_path, artifacts):
    first = deploy(tmp_path, artifacts["1.0.0"], "1.0.0")
    assert first["changed"] and first["current_release"] == f"1.0.0-{artifacts['1.0.0'][1][:12]}"
    assert (tmp_path / "current" / "src" / "sample_app" / "__init__.py").read_text().count('"1.0.0"') == 1
    assert os.readlink(tmp_path / "current") == f"releases/{first['release_id']}"
    again = deploy(tmp_path, artifacts["1.0.0"], "1.0.0")
    assert again["changed"] is False and again["switched"] is False


def test_check_mode_predicts_and_touches_nothing(tmp_path, artifacts):
    deploy(tmp_path, artifacts["1.0.0"], "1.0.0")
    before = json.loads((tmp_path / "releases.json").read_text())
    plan = rollout(dict(root=str(tmp_path), artifact_path=artifacts["2.0.0"][0], version="2.0.0"), check_mode=True)
    assert plan["changed"] and plan["switched"] and plan["unpacked"]
    assert plan["release_id"].startswith("2.0.0-")
    assert json.loads((tmp_path / "releases.json").read_text()) == before
    assert sorted(os.listdir(tmp_path / "releases")) == [before["releases"][0]["id"]]


def test_keep_releases_prunes_oldest(tmp_path, artifacts):
    for version in ("1.0.0", "2.0.0", "3.0.0"):
        result = deploy(tmp_path, artifacts[version], version, keep_releases=2)
    assert result["pruned"] == [f"1.0.0-{artifacts['1.0.0'][1][:12]}"]
    assert len(os.listdir(tmp_path / "releases")) == 2


def test_failing_after_unpack_hook_leaves_no_release(tmp_path, artifacts):
    with pytest.raises(ConveyorError, match="after_unpack hook false exited with 1"):
        deploy(tmp_path, artifacts["1.0.0"], "1.0.0", hooks={"after_unpack": [["false"]]})
    assert os.listdir(tmp_path / "releases") == []
    assert not (tmp_path / ".staging").exists()
    assert not os.path.lexists(tmp_path / "current")


def test_shared_paths_are_linked_into_the_release(tmp_path, artifacts):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / ".env").write_text("A=1\n")
    deploy(tmp_path, artifacts["1.0.0"], "1.0.0", shared_paths=["logs/", ".env"])
    assert os.path.islink(tmp_path / "current" / "logs")
    assert (tmp_path / "current" / ".env").read_text() == "A=1\n"


def test_missing_shared_file_is_one_clear_line(tmp_path, artifacts):
    with pytest.raises(ConfigurationError, match=r"shared file .*\.env does not exist"):
        deploy(tmp_path, artifacts["1.0.0"], "1.0.0", shared_paths=[".env"])


def test_bad_inputs_are_refused_with_one_line(tmp_path, artifacts):
    with pytest.raises(ConfigurationError, match="give exactly one of"):
        rollout(dict(root=str(tmp_path)))
    with pytest.raises(ConfigurationError, match="artifact_url needs artifact_sha256"):
        rollout(dict(root=str(tmp_path), artifact_url="file:///x/app.tar.gz"))
    with pytest.raises(ConfigurationError, match="not usable as a directory name"):
        deploy(tmp_path, artifacts["1.0.0"], "1.0.0", release_id="../evil")
    with pytest.raises(ConveyorError, match=r"expected 0{64}"):
        deploy(tmp_path, artifacts["1.0.0"], "1.0.0", artifact_sha256="0" * 64)
    with pytest.raises(ConfigurationError, match="list of argv lists"):
        deploy(tmp_path, artifacts["1.0.0"], "1.0.0", hooks={"after_switch": ["echo", "x"]})


def test_malicious_artifact_is_refused_before_anything_changes(tmp_path, artifacts):
    from tests.unit.archive.test_archive_unpack_corpus import make_tar, tar_member

    evil = tmp_path / "evil.tar.gz"
    make_tar(evil, [tar_member("ok.txt", data=b"fine"), tar_member("../../escape.txt", data=b"x")])
    root = tmp_path / "root"
    deploy(root, artifacts["1.0.0"], "1.0.0")
    with pytest.raises(ArchiveError):
        rollout(dict(root=str(root), artifact_path=str(evil), version="6.6.6"))
    assert not (tmp_path / "escape.txt").exists()
    assert len(os.listdir(root / "releases")) == 1
    assert current_release(Layout(str(root))).startswith("1.0.0-")
    assert not (root / ".staging").exists()


def test_repository_reference_takes_the_sha256_from_the_manifest(tmp_path, artifacts):
    from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store

    store = open_store(f"file://{tmp_path}/repo")
    path, sha256 = artifacts["2.0.0"]
    store.put("app/2.0.0/app-2.0.0.tar.gz", path, sha256=sha256)
    size = os.path.getsize(path)
    manifest = {
        "schema": 1,
        "name": "app",
        "version": "2.0.0",
        "artifacts": [{"name": "app-2.0.0.tar.gz", "sha256": sha256, "size": size}],
    }
    store.put_bytes("app/2.0.0/app-2.0.0.manifest.json", json.dumps(manifest).encode())
    result = rollout(
        dict(root=str(tmp_path / "root"), repository=f"file://{tmp_path}/repo", name="app", version="2.0.0")
    )
    assert result["release_id"] == f"2.0.0-{sha256[:12]}"
    with pytest.raises(ConfigurationError, match=r"other\.tar\.gz is not in app 2\.0\.0"):
        rollout(
            dict(
                root=str(tmp_path / "r2"),
                repository=f"file://{tmp_path}/repo",
                name="app",
                version="2.0.0",
                file="other.tar.gz",
            )
        )


def test_artifact_url_with_wrong_sha256_is_discarded(tmp_path, artifacts):
    path, _sha = artifacts["1.0.0"]
    with pytest.raises(ConveyorError, match=r"expected 1{64}"):
        rollout(dict(root=str(tmp_path / "root"), artifact_url=f"file://{path}", artifact_sha256="1" * 64))
    assert not os.path.lexists(tmp_path / "root" / "current")


def test_lock_is_exclusive(tmp_path):
    layout = Layout(str(tmp_path))
    with _rollout.locked(layout, timeout=1):
        start = time.monotonic()
        with pytest.raises(ConveyorError, match="another deploy holds"), _rollout.locked(layout, timeout=0.3):
            pass
        assert time.monotonic() - start >= 0.3


def test_service_secrets_join_the_command_environment_and_stay_out_of_the_spec():
    service = make_service(
        {"manager": "command", "start": ["true"], "pid_file": "{shared}/app.pid", "environment": {"A": "1"}},
        {"shared": "/srv/app/shared"},
        {"DSN": "postgresql://u:pw@db/{shared}"},
    )
    env = service._env()
    assert env["A"] == "1" and env["DSN"] == "postgresql://u:pw@db//srv/app/shared"
    assert "pw" not in repr(service.spec)


def test_service_secrets_are_refused_for_systemd_and_none():
    for spec in ({"manager": "systemd", "unit": "app.service"}, {}):
        with pytest.raises(ConfigurationError, match="EnvironmentFile"):
            make_service(spec, {}, {"TOKEN": "x"})
    assert make_service({}, {}, {}).manager == "none"


def test_a_systemd_service_quotes_its_journal_since_the_restart(tmp_path, monkeypatch):
    """systemd cannot run on the test machines: systemctl and journalctl are stand-in scripts on PATH that record
    their arguments; what is under test is how the journal is asked and which line is quoted."""
    calls = tmp_path / "calls"
    journal = "-- Boot 0123 --\nStarting app\nModuleNotFoundError: No module named 'flask'\napp.service: exited\n"
    for name, body in (("systemctl", "exit 0"), ("journalctl", f"printf '%s' \"{journal}\"")):
        script = tmp_path / name
        script.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\n{body}\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    service = make_service({"manager": "systemd", "unit": "app.service"}, {}, {})
    service.restart(str(tmp_path))
    assert service.last_log_line() == "ModuleNotFoundError: No module named 'flask'"
    asked = [line for line in calls.read_text().splitlines() if line.startswith("journalctl")]
    assert asked and "--unit app.service" in asked[-1] and "--since " in asked[-1], asked


def test_a_systemd_service_without_a_journal_quotes_nothing(tmp_path, monkeypatch):
    script = tmp_path / "systemctl"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert make_service({"manager": "systemd", "unit": "app.service"}, {}, {}).last_log_line() is None


# ------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("releases", "complaint"),
    [
        ([{"version": "1.0.0", "status": "active"}], r"releases\[0\] has no 'id'"),
        (["1.0.0"], r"releases\[0\] is not a mapping"),
        ([{"id": "../x", "status": "active"}], r"releases\[0\] has id '\.\./x', which is not a release directory"),
        ([{"id": "r1", "status": "gone"}], r"releases\[0\] \(r1\) has status 'gone'"),
        ([{"id": "r1", "status": "active", "seq": "x"}], r"releases\[0\] \(r1\) has seq 'x'"),
    ],
)
def test_damaged_state_entry_names_the_file_and_what_is_missing(tmp_path, artifacts, releases, complaint):
    root = tmp_path / "root"
    (root / "releases").mkdir(parents=True)
    before = json.dumps({"schema": 1, "releases": releases, "last_rollback": None})
    (root / "releases.json").write_text(before)
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        deploy(root, artifacts["1.0.0"], "1.0.0")
    assert caught.value.msg.startswith(f"{root / 'releases.json'} is damaged: ") and "\n" not in caught.value.msg
    assert (root / "releases.json").read_text() == before  # nothing rewritten
    assert os.listdir(root / "releases") == []


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"artifact_url": "a.tgz"}, r"artifact_url 'a\.tgz' has an unsupported scheme"),
        ({"artifact_url": "http://[::1/app.tar.gz"}, r"artifact_url .* is not a valid URL \(Invalid IPv6 URL\)"),
        ({"artifact_url": "http://127.0.0.1:99999/a.tgz"}, r"is not a valid URL \(Port out of range 0-65535\)"),
        ({"artifact_url": "https://host/"}, r"artifact_url 'https://host/' does not end with a file name"),
        ({"repository": "http://[::1/x", "name": "app", "version": "1"}, r"^repository .* \(Invalid IPv6 URL\)"),
        (
            {"artifact_path": "/nonexistent.tar.gz", "health": {"url": "http://127.0.0.1:99999/health"}},
            r"^health url .* \(Port out of range 0-65535\)",
        ),
        ({"artifact_path": "/nonexistent.tar.gz", "health": {"url": "http://[::1/x"}}, r"^health url .* IPv6"),
        ({"artifact_path": "/nonexistent.tar.gz", "health": {"url": "localhost:8080/x"}}, r"unsupported scheme"),
    ],
)
def test_malformed_urls_are_refused_before_anything_changes(tmp_path, params, complaint):
    params = dict(params, root=str(tmp_path / "root"))
    if "artifact_url" in params:
        params["artifact_sha256"] = "1" * 64
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        rollout(params)
    assert "\n" not in caught.value.msg
    assert not (tmp_path / "root").exists()


def test_repository_manifest_with_a_bad_size_is_one_clear_line(tmp_path, artifacts):
    from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store

    store = open_store(f"file://{tmp_path}/repo")
    path, sha256 = artifacts["2.0.0"]
    store.put("app/2.0.0/app-2.0.0.tar.gz", path, sha256=sha256)
    manifest = {
        "schema": 1,
        "name": "app",
        "version": "2.0.0",
        "artifacts": [{"name": "app-2.0.0.tar.gz", "sha256": sha256, "size": "big"}],
    }
    store.put_bytes("app/2.0.0/app-2.0.0.manifest.json", json.dumps(manifest).encode())
    with pytest.raises(
        ConfigurationError, match=r"app-2\.0\.0\.manifest\.json: artifact app-2\.0\.0\.tar\.gz has size"
    ):
        rollout(dict(root=str(tmp_path / "root"), repository=f"file://{tmp_path}/repo", name="app", version="2.0.0"))
    assert not os.listdir(tmp_path / "root" / "releases")


def test_full_disk_names_the_deploy_root_and_the_operation(tmp_path, artifacts, monkeypatch):
    def full_disk(layout, state):
        raise OSError(errno.ENOSPC, "No space left on device")  # what write() raises: no file name

    deploy(tmp_path / "root", artifacts["1.0.0"], "1.0.0")
    monkeypatch.setattr(_rollout, "write_state", full_disk)
    with pytest.raises(ConveyorError) as caught:
        deploy(tmp_path / "root", artifacts["2.0.0"], "2.0.0")
    assert caught.value.msg == f"could not deploy in {tmp_path / 'root'}: No space left on device"
    assert current_release(Layout(str(tmp_path / "root"))).startswith("1.0.0-")
