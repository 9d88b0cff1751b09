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


TOKEN = "glpat-R0leT0kenSecret77"


def test_diff_never_shows_the_repository_token(tmp_path):
    root = tmp_path / "root"
    config = root / "etc/conveyor/conveyor-poller.json"
    with_url = role_tasks(root, trigger_repo=f"https://deploy:{TOKEN}@git.example.invalid/team/app.git", trigger_env={})
    for check in (True, False):
        for callback in ("default", "json"):
            run = run_tasks(tmp_path, with_url, check=check, diff=True, callback=callback, args=("-v",))
            assert run.rc == 0, run.output
            assert TOKEN not in run.output, f"--diff (check={check}, {callback}) printed the token"
            if not check:
                break  # the second real run would change nothing
    assert TOKEN in config.read_text()
    assert config.stat().st_mode & 0o777 == 0o600

    again = run_tasks(tmp_path, with_url, diff=True)
    assert again.rc == 0 and again.stats["localhost"]["changed"] == 0, again.output

    apart = role_tasks(root, trigger_repo_token=TOKEN, trigger_repo_user="ci-bot", trigger_env={})
    run = run_tasks(tmp_path, apart, diff=True, callback="default", args=("-v",))
    assert run.rc == 0 and TOKEN not in run.output, run.output
    written = json.loads(config.read_text())
    assert written["repo"] == "https://git.example.invalid/team/app.git"
    assert (written["repo_token"], written["repo_user"]) == (TOKEN, "ci-bot")
    assert config.stat().st_mode & 0o777 == 0o600
    assert run_tasks(tmp_path, apart).stats["localhost"]["changed"] == 0


def test_diff_still_shows_a_configuration_without_secrets(tmp_path):
    root = tmp_path / "root"
    run = run_tasks(tmp_path, role_tasks(root), check=True, diff=True, callback="default")
    assert run.rc == 0, run.output
    assert '"repo": "https://git.example.invalid/team/app.git"' in run.output
