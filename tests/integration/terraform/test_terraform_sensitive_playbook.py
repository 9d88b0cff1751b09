"""Sensitive values through real ansible-playbook runs with the default callback at -vv."""

from __future__ import annotations

import yaml

from tests.integration.terraform.conftest import expect_failure, provision
from tests.support.playbook import run_playbook

TOKEN = "tok-3f9a1c7e-secret"
DB_PASSWORD = "pw-81d2c0aa-secret"


def play(tmp_path, tasks, name="play"):
    path = tmp_path / f"{name}.yml"
    document = [{"name": name, "hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": tasks}]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_sensitive_outputs_are_marked_and_never_printed(tmp_path, project):
    secret_file = tmp_path / "token.txt"
    tasks = [
        provision(
            "apply",
            project,
            register="infra",
            sensitive_variables={"token": TOKEN},
            variables={"label": "shown"},
        ),
        {"name": "show everything", "ansible.builtin.debug": {"var": "infra"}},
        dict(
            provision(
                "read sensitive",
                project,
                register="secrets",
                return_sensitive=True,
                sensitive_variables={"token": TOKEN},
                variables={"label": "shown"},
            ),
            no_log=True,
        ),
        {
            "name": "use the sensitive value",
            "ansible.builtin.copy": {"content": "{{ secrets.sensitive_outputs.token }}", "dest": str(secret_file)},
            "no_log": True,
        },
        expect_failure(provision("sensitive without no_log", project, return_sensitive=True)),
        provision("diff", project, sensitive_variables={"token": DB_PASSWORD}, register="changed_token"),
        {"name": "show the change", "ansible.builtin.debug": {"var": "changed_token"}},
    ]
    run = run_playbook(play(tmp_path, tasks), "-vv", "--diff", inventory="localhost,", callback="default")
    assert run.rc == 0, run.output
    assert "shown" in run.output, "the run printed the non-sensitive outputs"
    assert "sensitive_output_names" in run.output
    assert "return_sensitive: true needs no_log: true" in run.output
    assert secret_file.read_text() == TOKEN, "a no_log task received the sensitive value"
    assert TOKEN not in run.output
    assert DB_PASSWORD not in run.output


def test_sensitive_output_value_is_not_in_the_registered_result_by_default(tmp_path, project):
    tasks = [
        provision("apply", project, register="infra", sensitive_variables={"token": TOKEN}),
        {
            "name": "dump",
            "ansible.builtin.copy": {"content": "{{ infra | to_json }}", "dest": str(tmp_path / "r.json")},
        },
    ]
    run = run_playbook(play(tmp_path, tasks), inventory="localhost,", callback="default")
    assert run.rc == 0, run.output
    dumped = (tmp_path / "r.json").read_text()
    assert TOKEN not in dumped
    assert '"sensitive_output_names": ["token"]' in dumped
    assert "sensitive_outputs" not in dumped
