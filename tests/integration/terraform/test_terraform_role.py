"""The provision role: saved plans per workspace, and the skip when no binary is installed."""

from __future__ import annotations

from tests.support.playbook import run_tasks


def role(project, **variables):
    variables.setdefault("provision_project_path", str(project))
    variables.setdefault("provision_variables", {"root": str(project.parent / "root")})
    return {"name": "provision", "ansible.builtin.include_role": {"name": "conveyor.cicd.provision"}, "vars": variables}


def test_role_plans_every_workspace_then_applies_exactly_those_plans(tmp_path, project):
    plans = tmp_path / "plans"
    common = {"provision_workspaces": ["blue", "green"], "provision_plan_dir": str(plans)}
    planned = run_tasks(tmp_path, [role(project, provision_state="planned", **common)])
    assert planned.rc == 0, planned.output
    assert sorted(p.name for p in plans.iterdir()) == ["blue.tfplan", "green.tfplan"]
    assert not (tmp_path / "root" / "a").exists()

    applied = run_tasks(
        tmp_path,
        [
            role(project, **common),
            {"name": "publish", "ansible.builtin.debug": {"var": "provision_result"}},
        ],
    )
    assert applied.rc == 0, applied.output
    published = applied.result("publish")["provision_result"]
    assert sorted(published) == ["blue", "green"]
    assert published["blue"]["changed"] is True
    assert published["green"]["summary"]["add"] == 1
    assert published["green"]["plan_file"] == str(plans / "green.tfplan")
    assert (tmp_path / "root" / "a").is_dir()


def test_role_skips_without_binary_unless_required(tmp_path, project):
    skipped = run_tasks(
        tmp_path,
        [
            role(project, provision_binary="terraform-not-installed"),
            {"name": "after", "ansible.builtin.debug": {"msg": "continued"}},
        ],
    )
    assert skipped.rc == 0, skipped.output
    message = skipped.result("Say that provisioning is skipped")["msg"]
    assert "not installed" in message and "the embedded default continues without it" in message
    assert skipped.result("after")["msg"] == "continued"

    required = run_tasks(tmp_path, [role(project, provision_binary="terraform-not-installed", provision_required=True)])
    assert required.rc != 0
    assert "install Terraform or OpenTofu" in required.result("Fail when the binary is required but missing")["msg"]
