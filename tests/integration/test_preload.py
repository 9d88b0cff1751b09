"""The conveyor.cicd.preload callback: plugins loaded once in the controller, results unchanged.

Each play runs twice through real ansible-playbook runs, without and with the callback, and what
the playbook sees must be the same; -vvvv shows what the callback loaded.
"""

from __future__ import annotations

import yaml

from tests.integration.test_local_connection import LIBRARY_PING, seen
from tests.support.playbook import run_playbook

LOADED = "conveyor.cicd.preload: loaded in the controller: "


def _tasks(where):
    (where / "template.j2").write_text("host {{ inventory_hostname }}\n")
    return [
        {"name": "debug", "ansible.builtin.debug": {"msg": "hello"}},
        {"name": "dir", "ansible.builtin.file": {"path": str(where / "d"), "state": "directory", "mode": "0750"}},
        {"name": "stat", "ansible.builtin.stat": {"path": str(where / "d")}, "register": "st"},
        {
            "name": "template",
            "ansible.builtin.template": {"src": str(where / "template.j2"), "dest": str(where / "d/t")},
        },
        {"name": "cmd", "ansible.builtin.command": "echo out", "changed_when": False},
        {"name": "info", "conveyor.cicd.release_info": {"repo": str(where)}, "ignore_errors": True},
        {"name": "ping", "ping": {}},
    ]


def _run(where, *args, enabled="", env=None):
    (where / "library").mkdir(exist_ok=True)
    (where / "library" / "ping.py").write_text(LIBRARY_PING)
    play = where / "play.yml"
    play.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "connection": "conveyor.cicd.local",
                    "tasks": _tasks(where),
                }
            ],
            sort_keys=False,
        )
    )
    callbacks = "conveyor_test_json" + (f",{enabled}" if enabled else "")
    run = run_playbook(
        play, *args, inventory="localhost,", cwd=where, env={"ANSIBLE_CALLBACKS_ENABLED": callbacks, **(env or {})}
    )
    assert run.rc == 0, run.output[-3000:]
    return run


def _seen(run, where):
    return {task["_task"]: seen(task, where) for task in run.tasks()}


def test_same_results_with_plugins_loaded_in_the_controller(tmp_path):
    without, with_ = tmp_path / "without", tmp_path / "with"
    without.mkdir()
    with_.mkdir()
    plain = _run(without)
    preloaded = _run(with_, "-vvvv", enabled="conveyor.cicd.preload")
    assert _seen(preloaded, with_) == _seen(plain, without)
    assert preloaded.result("ping")["ping"] == "from the library"
    assert "a new process for this module" in preloaded.output  # the library module still runs as its own process

    line = next(ln for ln in preloaded.output.splitlines() if LOADED in ln)
    loaded = set(line.split(LOADED, 1)[1].split(", "))
    assert {
        "connection conveyor.cicd.local",
        "action ansible.builtin.debug",
        "action ansible.builtin.template",
        "action conveyor.cicd.release_info",
        "module conveyor.cicd.release_info",
        "module ansible.builtin.file",
        "module ansible.builtin.stat",
        "module ansible.builtin.command",
    } <= loaded
    # a playbook's library/ module is never imported into the controller
    assert not any(item.startswith("module ansible.legacy.ping") for item in loaded), loaded


def test_module_imports_can_be_switched_off(tmp_path):
    run = _run(tmp_path, "-vvvv", enabled="conveyor.cicd.preload", env={"CONVEYOR_PRELOAD_MODULES": "false"})
    line = next(ln for ln in run.output.splitlines() if LOADED in ln)
    loaded = line.split(LOADED, 1)[1].split(", ")
    assert "action conveyor.cicd.release_info" in loaded
    assert not [item for item in loaded if item.startswith("module ")]
