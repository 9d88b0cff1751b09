"""One ansible-playbook command with several playbooks records one whole run per playbook."""

from __future__ import annotations

import pytest

from tests.integration.events.test_events_callback import events_env, query, write_playbook
from tests.support.playbook import run_playbook

pytestmark = pytest.mark.integration


def test_two_playbooks_in_one_command_record_two_complete_runs(tmp_path):
    first = write_playbook(
        tmp_path,
        [{"name": "Build", "hosts": "localhost", "gather_facts": False, "tasks": [{"ansible.builtin.ping": {}}]}],
        name="ci.yml",
    )
    second = write_playbook(
        tmp_path,
        [
            {
                "name": "Deploy",
                "hosts": "localhost",
                "gather_facts": False,
                "tasks": [{"ansible.builtin.ping": {}}, {"ansible.builtin.ping": {}}],
            }
        ],
        name="cd.yml",
    )
    # both playbooks side by side on the command line, so the inventory comes from the environment
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("localhost ansible_connection=local\n")
    run = run_playbook(first, str(second), env=events_env(tmp_path, ANSIBLE_INVENTORY=str(inventory)))
    assert run.rc == 0, run.output
    assert "could not record" not in run.output
    db = tmp_path / "state" / "events.db"
    runs = query(db, "SELECT playbook, status, ended IS NOT NULL AS ended, ok FROM runs ORDER BY started")
    assert runs == [
        {"playbook": "ci.yml", "status": "success", "ended": 1, "ok": 1},
        {"playbook": "cd.yml", "status": "success", "ended": 1, "ok": 2},
    ]
    stages = query(db, "SELECT name FROM stages ORDER BY id")
    assert stages == [{"name": "Build"}, {"name": "Deploy"}]
