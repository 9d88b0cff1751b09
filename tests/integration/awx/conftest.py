"""A private_data_dir laid out the way AWX lays it out for a job, run with ansible_runner.run()."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.paths import ROOT, VENV_BIN

JOB_ID = 4242
# The collection's own requirements file; AWX's project sync installs it into requirements_collections.
COLLECTION_REQUIREMENTS = ROOT / "examples" / "awx" / "collections" / "requirements.yml"
# A job that packages and publishes after CI, so that its set_stats reach the playbook_on_stats event.
RELEASE_PLAYBOOK = """---
- name: CI stages
  ansible.builtin.import_playbook: playbooks/ci.yml
- name: Package
  ansible.builtin.import_playbook: playbooks/package.yml
- name: Publish
  ansible.builtin.import_playbook: playbooks/publish.yml
"""


def project_files() -> list[str]:
    """What a git clone of this repository holds (tracked and new, not ignored, files)."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def sync_project(project: Path, requirements_collections: Path) -> None:
    """Project sync: copy the checkout, then install collections/requirements.yml like AWX does."""
    for name in project_files():
        dest = project / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest)
    requirements = project / "collections" / "requirements.yml"
    if not requirements.exists():
        requirements.parent.mkdir(exist_ok=True)
        shutil.copy2(COLLECTION_REQUIREMENTS, requirements)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(requirements_collections),
        ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1",
        ANSIBLE_LOCAL_TEMP=str(requirements_collections.parent / "tmp"),
    )
    subprocess.run(
        [
            str(VENV_BIN / "ansible-galaxy"),
            "collection",
            "install",
            "-r",
            str(requirements),
            "--collections-path",
            str(requirements_collections),
            "--force",
        ],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def awx_inventory_script(path: Path, hostvars: dict) -> None:
    """inventory/hosts as AWX writes it: an executable script printing the inventory as JSON."""
    data = {
        "all": {"hosts": [], "children": ["ungrouped", "controller"], "vars": {}},
        "controller": {"hosts": list(hostvars), "vars": {}},
        "_meta": {"hostvars": {name: dict(v, remote_tower_enabled="true") for name, v in hostvars.items()}},
    }
    path.write_text("#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(data))
    path.chmod(0o700)


@dataclass
class AwxJob:
    private_data_dir: Path
    runner: object
    handled_events: list

    @property
    def artifacts(self) -> Path:
        return self.private_data_dir / "artifacts" / str(JOB_ID)

    def events(self, name: str) -> list[dict]:
        return [e for e in self.runner.events if e.get("event") == name]

    def ok_tasks(self) -> list[str]:
        return [e["event_data"]["task"] for e in self.events("runner_on_ok")]


def run_awx_job(tmp_path: Path, playbook: str, playbook_text: str | None = None, extra_vars: dict | None = None):
    import ansible_runner

    pdd = tmp_path / f"awx_job_{JOB_ID}_private"
    for sub in ("project", "inventory", "env"):
        (pdd / sub).mkdir(parents=True)
    pdd.chmod(0o700)
    sync_project(pdd / "project", pdd / "requirements_collections")
    if playbook_text:
        (pdd / "project" / playbook).write_text(playbook_text)

    awx_meta = {
        "awx_job_id": JOB_ID,
        "awx_job_launch_type": "workflow",
        "awx_job_template_id": 7,
        "awx_job_template_name": "conveyor ci",
        "awx_project_revision": "0" * 40,
        "awx_project_scm_branch": "main",
        "awx_inventory_id": 3,
        "awx_inventory_name": "staging",
        "awx_user_name": "admin",
        "awx_workflow_job_id": 4241,
        "awx_workflow_job_name": "conveyor release",
    }
    extravars = dict(awx_meta, **(extra_vars or {}))
    (pdd / "env" / "extravars").write_text(yaml.safe_dump(extravars))
    (pdd / "env" / "extravars").chmod(0o400)
    (pdd / "env" / "cmdline").write_text(f"-u {getpass.getuser()} --forks=5")
    awx_inventory_script(
        pdd / "inventory" / "hosts",
        {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python")}},
    )

    cfg_paths = "~/.ansible/collections:/usr/share/ansible/collections"
    envvars = {
        "JOB_ID": str(JOB_ID),
        "INVENTORY_ID": "3",
        "PROJECT_REVISION": "0" * 40,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000",
        "AWX_HOST": "https://awx.example.invalid",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(pdd / "cp"),
        "AWX_PRIVATE_DATA_DIR": str(pdd),
        # requirements_collections first, then the project's ansible.cfg collections_path, then the defaults
        "ANSIBLE_COLLECTIONS_PATH": f"{pdd / 'requirements_collections'}:.cache/collections:{cfg_paths}",
        "ANSIBLE_ROLES_PATH": f"{pdd / 'requirements_roles'}:~/.ansible/roles:/usr/share/ansible/roles",
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    }
    (pdd / "cp").mkdir(mode=0o700)
    handled = []

    def event_handler(event):  # AWX's RunnerCallback.event_handler receives every event this way
        handled.append(event)
        return True

    # this test session's own ANSIBLE_* settings (ANSIBLE_CONFIG, callbacks) must not leak into the job
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("ANSIBLE_")}
    try:
        runner = ansible_runner.run(
            ident=JOB_ID,
            private_data_dir=str(pdd),
            playbook=playbook,
            inventory=str(pdd / "inventory" / "hosts"),
            envvars=envvars,
            settings={"job_timeout": 600, "suppress_ansible_output": True, "suppress_output_file": False},
            fact_cache_type="",
            event_handler=event_handler,
            quiet=True,
        )
    finally:
        os.environ.update(saved)
    return AwxJob(pdd, runner, handled)


@pytest.fixture(scope="module")
def release_job(tmp_path_factory):
    """One AWX-style job of CI -> package -> publish; its state lives in the private data dir."""
    tmp = tmp_path_factory.mktemp("awx")
    return run_awx_job(
        tmp,
        "conveyor_release.yml",
        RELEASE_PLAYBOOK,
        extra_vars={"conveyor_state_dir": str(tmp / "state")},
    )
