"""examples/awx/configure_awx.yml: the workflow graph is complete and every job template points at a project playbook.

The playbook holds the settings; the awx.awx tasks are in examples/awx/tasks/configure_awx.yml, which it includes.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.support.paths import ROOT

CONFIG = ROOT / "examples" / "awx" / "configure_awx.yml"
TASKS = ROOT / "examples" / "awx" / "tasks" / "configure_awx.yml"
AUTH_OPTIONS = {
    "controller_host",
    "controller_username",
    "controller_password",
    "controller_oauthtoken",
    "validate_certs",
}
# AWX lists a project file as a playbook when a line matches this (awx/main/utils/ansible.py)
AWX_PLAYBOOK_LINE = re.compile(r"^\s*?-?\s*?(?:hosts|include|import_playbook):\s*?.*?$", re.MULTILINE)


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


@pytest.fixture(scope="module")
def play():
    """The play, with the included tasks in place of the include."""
    play = yaml.load(CONFIG.read_text(), Loader=Loader)[0]
    includes = [t for t in play["tasks"] if "ansible.builtin.include_tasks" in t]
    assert [t["ansible.builtin.include_tasks"] for t in includes] == ["tasks/configure_awx.yml"]
    return {**play, "tasks": yaml.load(TASKS.read_text(), Loader=Loader)}


def tasks_using(play, module):
    return [t[module] for t in play["tasks"] if module in t]


def test_every_awx_task_gets_the_connection_options(play):
    awx_tasks = [(name, args) for task in play["tasks"] for name, args in task.items() if name.startswith("awx.awx.")]
    assert len(awx_tasks) > 20
    for name, args in awx_tasks:
        assert set(args) >= AUTH_OPTIONS, f"{name} lacks {sorted(AUTH_OPTIONS - set(args))}"
    assert "module_defaults" not in yaml.load(CONFIG.read_text(), Loader=Loader)[0]


def test_workflow_runs_ci_staging_approval_production_with_rollbacks(play):
    nodes = {n["identifier"]: n for n in tasks_using(play, "awx.awx.workflow_job_template_node")}
    assert nodes["ci"]["unified_job_template"] == "conveyor ci"
    assert nodes["ci"]["success_nodes"] == ["deploy-staging"]
    assert nodes["deploy-staging"]["success_nodes"] == ["approve-production"]
    assert "approval_node" in nodes["approve-production"]
    assert nodes["approve-production"]["success_nodes"] == ["deploy-production"]
    assert nodes["deploy-staging"]["failure_nodes"] == ["rollback-staging"]
    assert nodes["deploy-production"]["failure_nodes"] == ["rollback-production"]
    assert {nodes[n]["unified_job_template"] for n in ("rollback-staging", "rollback-production")} == {
        "conveyor rollback"
    }
    # nodes are linked by identifier: a node must exist before another points at it
    seen = set()
    for node in tasks_using(play, "awx.awx.workflow_job_template_node"):
        for linked in node.get("success_nodes", []) + node.get("failure_nodes", []):
            assert linked in seen, f"{node['identifier']} links {linked} before it is created"
        seen.add(node["identifier"])


def test_job_templates_have_surveys_and_a_webhook_and_schedule_exist(play):
    templates = {t["name"]: t for t in tasks_using(play, "awx.awx.job_template")}
    assert {"conveyor ci", "conveyor cd", "conveyor rollback"} <= set(templates)
    for name in ("conveyor ci", "conveyor cd", "conveyor rollback"):
        assert templates[name]["survey_enabled"] is True and templates[name]["survey_spec"]["spec"]
    workflow = tasks_using(play, "awx.awx.workflow_job_template")[0]
    assert workflow["webhook_service"] in ("github", "gitlab")
    assert tasks_using(play, "awx.awx.schedule")
    kinds = {t["name"] for t in tasks_using(play, "awx.awx.credential_type")}
    assert kinds == {"conveyor artifact repository", "conveyor database"}
    for task in play["tasks"]:
        if "awx.awx.credential" in task:
            assert task.get("no_log") is True, task["name"]


def test_job_template_playbooks_are_project_playbooks_awx_lists(play):
    playbooks = play["vars"]["conveyor_awx_playbooks"]
    present = {key: ROOT / path for key, path in playbooks.items() if (ROOT / path).exists()}
    assert {"ci", "pipeline"} <= set(present)
    for key, path in present.items():
        if key != "pipeline":
            assert AWX_PLAYBOOK_LINE.search(path.read_text()), f"AWX would not list {path}"
    missing = sorted(set(playbooks) - set(present))
    if missing:
        pytest.skip(f"playbooks not in the repository yet: {', '.join(playbooks[m] for m in missing)}")


def test_root_wrapper_is_listed_by_awx_project_sync():
    assert AWX_PLAYBOOK_LINE.search((ROOT / "pipeline.yml").read_text())
