"""conveyor.cicd.local keeps ansible-core's built module payloads from one run to the next.

Real ansible-playbook runs with their own local temporary directory (ANSIBLE_LOCAL_TEMP), so the store
under it belongs to the test; ANSIBLE_DEBUG shows whether Ansible built a payload or found it cached.
"""

from __future__ import annotations

import json

import yaml

from tests.support.playbook import run_playbook

BUILT = "ANSIBALLZ: Creating module"
FOUND = "ANSIBALLZ: using cached module"
CORE = ("ansible.modules.file", "ansible.modules.stat", "ansible.modules.command")


def _play(tmp_path, **play_vars):
    path = tmp_path / "play.yml"
    tasks = [
        {"name": "dir", "ansible.builtin.file": {"path": str(tmp_path / "d"), "state": "directory"}},
        {"name": "stat", "ansible.builtin.stat": {"path": str(tmp_path / "d")}, "register": "st"},
        {"name": "cmd", "ansible.builtin.command": "true", "changed_when": False},
        # a collection module run as a forked module process: built every run, never stored
        {"name": "info", "conveyor.cicd.release_info": {"repo": str(tmp_path)}, "ignore_errors": True},
        {"name": "check", "ansible.builtin.assert": {"that": ["st.stat.isdir"]}},
    ]
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "connection": "conveyor.cicd.local",
        "vars": {"conveyor_in_process": False, **play_vars},
        "tasks": tasks,
    }
    path.write_text(yaml.safe_dump([play], sort_keys=False))
    return path


def _run(play, local_tmp):
    run = run_playbook(
        play,
        "-vvvv",
        inventory="localhost,",
        callback="default",
        env={"ANSIBLE_LOCAL_TEMP": str(local_tmp), "ANSIBLE_DEBUG": "1"},
    )
    assert run.rc == 0, run.output[-3000:]
    return run.output


def _found(output: str) -> set[str]:
    """The modules whose payload Ansible found in the run's cache instead of building it."""
    return {
        line.rsplit("/", 1)[1].split("-ZIP_", 1)[0]
        for line in output.splitlines()
        if FOUND in line and "/ansiballz_cache/" in line
    }


def _store(local_tmp):
    stores = list((local_tmp / "conveyor-ansiballz").glob("*"))
    assert len(stores) == 1, stores
    return stores[0]


def _sources(store, fqn):
    return json.loads((store / f"{fqn}-ZIP_DEFLATED-none.sources.json").read_text())


def test_later_runs_use_the_stored_payloads(tmp_path):
    local_tmp = tmp_path / "local_tmp"
    play = _play(tmp_path)
    first = _run(play, local_tmp)
    assert first.count(BUILT) == 4  # file, stat, command and the collection module
    store = _store(local_tmp)
    assert sorted(p.name for p in store.iterdir()) == sorted(
        [f"{fqn}-ZIP_DEFLATED-none" for fqn in CORE] + [f"{fqn}-ZIP_DEFLATED-none.sources.json" for fqn in CORE]
    )
    assert oct(store.stat().st_mode & 0o777) == "0o700"
    assert oct(store.parent.stat().st_mode & 0o777) == "0o700"
    sources = _sources(store, "ansible.modules.stat")
    assert "ansible/modules/stat.py" in sources and "ansible/module_utils/basic.py" in sources

    second = _run(play, local_tmp)
    assert "3 stored module payloads copied into this run's cache" in second
    assert second.count(BUILT) == 1  # only the collection module
    assert _found(second) == set(CORE)

    # a source that changed since the payload was stored: the payload is dropped, built again, stored again
    stale = dict(sources, **{"ansible/modules/stat.py": [sources["ansible/modules/stat.py"][0] + 1, 0]})
    (store / "ansible.modules.stat-ZIP_DEFLATED-none.sources.json").write_text(json.dumps(stale))
    third = _run(play, local_tmp)
    assert "2 stored module payloads copied into this run's cache" in third
    assert third.count(BUILT) == 2
    assert _found(third) == {"ansible.modules.file", "ansible.modules.command"}
    assert _sources(store, "ansible.modules.stat") == sources


def test_switched_off(tmp_path):
    local_tmp = tmp_path / "local_tmp"
    play = _play(tmp_path, conveyor_ansiballz_cache=False)
    for _round in range(2):
        output = _run(play, local_tmp)
        assert output.count(BUILT) == 4
        assert "stored module payloads" not in output
    assert not (local_tmp / "conveyor-ansiballz").exists()


def test_a_store_others_can_write_to_is_never_used(tmp_path):
    local_tmp = tmp_path / "local_tmp"
    play = _play(tmp_path)
    _run(play, local_tmp)
    store = _store(local_tmp)
    store.chmod(0o777)  # as if local_tmp were a shared directory where another user made it
    output = _run(play, local_tmp)
    assert "stored module payloads" not in output
    assert output.count(BUILT) == 4
    assert _found(output) == set()

    store.chmod(0o700)
    (store / "ansible.modules.file-ZIP_DEFLATED-none").chmod(0o666)  # one planted or loosened payload
    output = _run(play, local_tmp)
    assert "2 stored module payloads copied into this run's cache" in output
    assert _found(output) == {"ansible.modules.stat", "ansible.modules.command"}
    assert oct((store / "ansible.modules.file-ZIP_DEFLATED-none").stat().st_mode & 0o777) == "0o600"  # stored again
