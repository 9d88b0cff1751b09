"""The trigger role through real ansible-playbook runs below a temporary root: switching schedulers, removal."""

from __future__ import annotations

import json
import sys

from tests.support.playbook import run_tasks


def role_tasks(root, **overrides):
    params = {
        "trigger_root": str(root),
        "trigger_repo": "https://git.example.invalid/team/app.git",
        "trigger_python": sys.executable,
        "trigger_command": ["ansible-playbook", "pipeline.yml", "-i", "inventories/staging"],
    }
    params.update(overrides)
    return [{"name": "Trigger", "ansible.builtin.include_role": {"name": "conveyor.cicd.trigger"}, "vars": params}]


def test_switching_to_cron_removes_the_units_and_absent_removes_everything(tmp_path):
    root = tmp_path / "root"
    units = root / "etc/systemd/system"
    cron = root / "etc/cron.d/conveyor-poller"

    run = run_tasks(tmp_path, role_tasks(root, trigger_scheduler="systemd"))
    assert run.rc == 0, run.output
    assert (units / "conveyor-poller.timer").exists() and not cron.exists()
    config = json.loads((root / "etc/conveyor/conveyor-poller.json").read_text())
    assert config["command"] == ["ansible-playbook", "pipeline.yml", "-i", "inventories/staging"]
    assert config["work_dir"] == f"{root}/var/lib/conveyor/trigger" and config["log_file"] == ""

    run = run_tasks(tmp_path, role_tasks(root, trigger_scheduler="cron"), check=True)
    assert run.rc == 0, run.output
    assert (units / "conveyor-poller.timer").exists() and not cron.exists(), "check mode changed files"

    run = run_tasks(tmp_path, role_tasks(root, trigger_scheduler="cron"))
    assert run.rc == 0, run.output
    assert not (units / "conveyor-poller.timer").exists() and not (units / "conveyor-poller.service").exists()
    assert cron.exists()
    config = json.loads((root / "etc/conveyor/conveyor-poller.json").read_text())
    assert config["log_file"] == f"{root}/var/lib/conveyor/trigger/poller.log"

    run = run_tasks(tmp_path, role_tasks(root, trigger_state="absent"))
    assert run.rc == 0, run.output
    assert not cron.exists()
    assert not (root / "etc/conveyor/conveyor-poller.json").exists()
    assert not (root / "usr/local/lib/conveyor/conveyor_poller.py").exists()
    assert (root / "var/lib/conveyor/trigger").is_dir(), "the state directory (checkout, history) is kept"


def test_bad_interval_fails_with_one_clear_line(tmp_path):
    run = run_tasks(tmp_path, role_tasks(tmp_path / "root", trigger_interval_minutes=90))
    assert run.rc != 0
    assert "trigger_interval_minutes must be 1-59" in run.output
    assert "Traceback" not in run.output
