"""conveyor.cicd.provision through real ansible-playbook runs against a real terraform (offline project)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time

from tests.integration.terraform.conftest import expect_failure, provision
from tests.support.playbook import run_tasks

TWO_ITEMS = {"a": {"size": 1, "tags": ["web"]}, "b": {"size": 2, "tags": ["web", "db"]}}


def test_planned_writes_a_plan_and_present_applies_exactly_that_plan(tmp_path, project):
    plan_file = tmp_path / "plans" / "review.tfplan"
    planned = run_tasks(
        tmp_path,
        [provision("plan", project, state="planned", plan_file=str(plan_file), variables={"items": TWO_ITEMS})],
    )
    result = planned.result("plan")
    assert planned.rc == 0, planned.output
    assert result["changed"] is False
    assert result["has_changes"] is True
    assert result["summary"]["add"] == 2 and result["summary"]["destroy"] == 0
    assert result["actions"]["create"] == ['terraform_data.item["a"]', 'terraform_data.item["b"]']
    assert plan_file.is_file()
    assert stat.S_IMODE(plan_file.stat().st_mode) == 0o600, "the plan holds sensitive values in clear"
    assert not (tmp_path / "root" / "a").exists(), "planning must not create anything"

    # the apply takes no variables: the plan carries them, so a different value here changes nothing
    applied = run_tasks(tmp_path, [provision("apply", project, plan_file=str(plan_file), variables={"label": "x"})])
    result = applied.result("apply")
    assert applied.rc == 0, applied.output
    assert result["changed"] is True
    assert result["plan_file"] == str(plan_file)
    state_files = list(project.glob("*.tfstate*")) + list(project.glob("terraform.tfstate.d/*/*.tfstate*"))
    assert state_files, "the local backend keeps its state in the project"
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in state_files), "state holds sensitive values"
    assert sorted(os.listdir(tmp_path / "root")) == ["a", "b"]
    assert result["outputs"]["hosts"]["b"] == {
        "address": "127.0.0.1",
        "groups": ["web", "db"],
        "vars": {"item_size": 2, "item_path": str(tmp_path / "root" / "b")},
    }
    assert result["outputs"]["label"] == "plain"
    assert any("ignored when applying a saved plan" in warning for warning in result.get("warnings", []))

    # a plan made from an existing state applies too, and only its own change
    second = run_tasks(
        tmp_path,
        [
            provision(
                "plan 2",
                project,
                state="planned",
                plan_file=str(plan_file),
                variables={"items": TWO_ITEMS, "label": "v2"},
            ),
            provision("apply 2", project, plan_file=str(plan_file)),
        ],
    )
    assert second.rc == 0, second.output
    assert second.result("plan 2")["summary"]["add"] == 0
    assert second.result("plan 2")["actions"]["outputs"] == ["label"]
    assert second.result("apply 2")["changed"] is True
    assert second.result("apply 2")["outputs"]["label"] == "v2"


def test_stale_plan_is_refused_in_check_mode_and_for_real(tmp_path, project):
    plan_file = tmp_path / "old.tfplan"
    run = run_tasks(
        tmp_path,
        [
            provision("plan", project, state="planned", plan_file=str(plan_file)),
            provision("apply another change", project, variables={"items": TWO_ITEMS}),
        ],
    )
    assert run.rc == 0, run.output
    for check in (True, False):
        stale = run_tasks(
            tmp_path, [expect_failure(provision("apply old", project, plan_file=str(plan_file)))], check=check
        )
        result = stale.result("apply old")
        assert result.get("failed") is True, result
        assert "stale" in result["msg"] and "state: planned" in result["msg"], result["msg"]
        assert result["stale"] is True
    assert sorted(os.listdir(tmp_path / "root")) == ["a", "b"], "the stale plan (one item) was not applied"


def test_terraform_own_stale_error_is_rephrased(tmp_path, project):
    # two plans of the same state: after the first is applied the second is stale
    first, second = tmp_path / "first.tfplan", tmp_path / "second.tfplan"
    run = run_tasks(
        tmp_path,
        [
            provision("plan 1", project, state="planned", plan_file=str(first)),
            provision("plan 2", project, state="planned", plan_file=str(second)),
            provision("apply 1", project, plan_file=str(first)),
            expect_failure(provision("apply 2", project, plan_file=str(second))),
        ],
    )
    result = run.result("apply 2")
    assert result.get("failed") is True
    assert "stale" in result["msg"] and "state: planned" in result["msg"]


def test_check_mode_reports_changed_in_both_directions_and_second_run_is_idempotent(tmp_path, project):
    root = tmp_path / "root"
    before = run_tasks(tmp_path, [provision("predict", project, register="r")], check=True)
    assert before.rc == 0, before.output
    assert before.result("predict")["changed"] is True
    assert before.result("predict")["summary"]["add"] == 1
    assert not (root / "a").exists()

    run = run_tasks(tmp_path, [provision("apply", project), provision("again", project)])
    assert run.result("apply")["changed"] is True
    assert run.result("again")["changed"] is False
    assert run.result("again")["has_changes"] is False
    assert (root / "a").is_dir()

    after = run_tasks(tmp_path, [provision("predict", project)], check=True)
    assert after.result("predict")["changed"] is False

    # an output-only change is a change too
    label = run_tasks(tmp_path, [provision("predict", project, variables={"label": "new"})], check=True)
    assert label.result("predict")["changed"] is True
    assert label.result("predict")["actions"]["outputs"] == ["label"]
    assert run_tasks(tmp_path, [provision("predict", project)], check=True).result("predict")["changed"] is False


def test_destroy_protection(tmp_path, project):
    root = tmp_path / "root"
    run = run_tasks(
        tmp_path,
        [
            provision("create", project),
            expect_failure(provision("replace unconfirmed", project, variables={"generation": 2})),
            expect_failure(provision("remove unconfirmed", project, variables={"items": {}})),
            expect_failure(provision("absent unconfirmed", project, state="absent")),
        ],
    )
    assert run.result("create")["changed"] is True
    replace = run.result("replace unconfirmed")
    assert replace.get("failed") is True and replace.get("changed") is False
    assert 'terraform_data.item["a"]' in replace["msg"] and "allow_replace: true" in replace["msg"]
    assert replace["summary"]["replace"] == 1
    remove = run.result("remove unconfirmed")
    assert remove.get("failed") is True and 'terraform_data.item["a"]' in remove["msg"]
    absent = run.result("absent unconfirmed")
    assert absent.get("failed") is True and "allow_destroy: true" in absent["msg"]
    assert (root / "a").is_dir(), "nothing was destroyed"

    run = run_tasks(
        tmp_path,
        [
            provision("replace", project, variables={"generation": 2}, allow_replace=True),
            provision("destroy", project, state="absent", allow_destroy=True),
            provision("destroy again", project, state="absent", allow_destroy=True),
        ],
    )
    assert run.rc == 0, run.output
    assert run.result("replace")["changed"] is True
    assert run.result("replace")["summary"] == {
        "add": 1,
        "change": 0,
        "destroy": 1,
        "replace": 1,
        "import": 0,
        "forget": 0,
        "move": 0,
        "outputs": 1,  # hosts depends on the replaced resource
    }
    assert run.result("replace")["actions"]["replace"] == ['terraform_data.item["a"]']
    destroy = run.result("destroy")
    assert destroy["changed"] is True and destroy["summary"]["destroy"] == 1
    assert destroy["outputs"] == {}
    assert not (root / "a").exists()
    assert run.result("destroy again")["changed"] is False


def test_workspaces_are_created_and_isolated_and_selection_is_kept(tmp_path, project):
    run = run_tasks(
        tmp_path,
        [
            provision("staging", project, workspace="staging", variables={"items": {"s": {"size": 1, "tags": []}}}),
            provision(
                "staging again", project, workspace="staging", variables={"items": {"s": {"size": 1, "tags": []}}}
            ),
            provision("default", project),
        ],
    )
    assert run.rc == 0, run.output
    assert run.result("staging")["workspace_created"] is True
    assert run.result("staging again")["workspace_created"] is False
    assert run.result("staging again")["changed"] is False
    assert list(run.result("staging again")["outputs"]["hosts"]) == ["s"]
    assert list(run.result("default")["outputs"]["hosts"]) == ["a"]
    shown = subprocess.run(
        ["terraform", "workspace", "show"], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert shown == "default"

    check = run_tasks(tmp_path, [provision("new ws", project, workspace="review-1")], check=True)
    result = check.result("new ws")
    assert result["changed"] is True and result["workspace_created"] is True
    assert not (project / "terraform.tfstate.d" / "review-1").exists()


def test_complex_variables_keep_their_types_and_undeclared_ones_are_refused(tmp_path, project):
    items = {"n": {"size": 3, "tags": ["one", "two"]}}
    run = run_tasks(
        tmp_path,
        [
            provision("apply", project, variables={"items": items, "generation": 7}),
            expect_failure(provision("typo", project, variables={"itemz": {}})),
        ],
    )
    assert run.result("apply")["outputs"]["hosts"]["n"]["vars"]["item_size"] == 3
    assert run.result("apply")["outputs"]["hosts"]["n"]["groups"] == ["one", "two"]
    typo = run.result("typo")
    assert typo.get("failed") is True
    assert "itemz" in typo["msg"] and "declared:" in typo["msg"]
    assert not list(tmp_path.glob("**/conveyor.tfvars.json"))


def test_missing_binary_and_init_failure_are_one_clear_line(tmp_path, project):
    (project / "backend.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    run = run_tasks(
        tmp_path,
        [
            expect_failure(provision("no binary", project, binary="terraform-not-installed")),
            expect_failure(provision("bad backend", project, backend_config={"no_such_setting": "x"})),
            expect_failure(provision("not a project", tmp_path / "root")),
            expect_failure(provision("bad timeout", project, lock_timeout="soon")),
        ],
    )
    missing = run.result("no binary")
    assert missing.get("failed") is True
    assert "terraform-not-installed" in missing["msg"] and "install Terraform" in missing["msg"]
    assert "OpenTofu" in missing["msg"]
    init = run.result("bad backend")
    assert init.get("failed") is True
    assert init["msg"].startswith("terraform init failed in"), init["msg"]
    assert "backend_config: Unsupported argument" in init["msg"] and "no_such_setting" in init["msg"], init["msg"]
    assert "check the backend settings" in init["msg"]
    assert any("no_such_setting" in line for line in init["tail"])
    assert "no .tf" in run.result("not a project")["msg"]
    assert "lock_timeout" in run.result("bad timeout")["msg"]
    for name in ("no binary", "bad backend", "not a project", "bad timeout"):
        assert "Traceback" not in run.result(name)["msg"]


def test_held_state_lock_is_named(tmp_path, project):
    env = dict(os.environ, TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    argv = ["terraform", "apply", "-input=false", "-no-color", "-auto-approve"]
    argv += [f"-var=root={tmp_path / 'root'}", "-var=sleep_seconds=8"]
    holder = subprocess.Popen(argv, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lock_info = project / ".terraform.tfstate.lock.info"
        deadline = time.monotonic() + 20
        while not lock_info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lock_info.exists(), "the first terraform did not take the lock"
        lock = json.loads(lock_info.read_text())
        run = run_tasks(tmp_path, [expect_failure(provision("blocked", project, lock_timeout="1s"))])
        result = run.result("blocked")
        assert result.get("failed") is True
        assert "locked" in result["msg"]
        assert lock["ID"] in result["msg"] and lock["Who"] in result["msg"]
        assert "force-unlock" in result["msg"] and "lock_timeout" in result["msg"]
        assert result["lock"]["id"] == lock["ID"]
        assert result["tail"]
    finally:
        holder.communicate(timeout=60)
    assert holder.returncode == 0


def test_syntax_error_reports_terraforms_file_line_and_message(tmp_path, project):
    (project / "broken.tf").write_text('output "broken" {\n  value = 1 +\n}\n')
    run = run_tasks(tmp_path, [expect_failure(provision("broken", project))])
    msg = run.result("broken")["msg"]
    assert "broken.tf:2: Invalid expression: Expected the start of an expression" in msg, msg
    assert "\n" not in msg and "unexpected" not in msg
    assert "backend settings" not in msg  # a syntax error, not a backend problem
    assert not (project / ".terraform").exists() and not list((tmp_path / "root").iterdir())


def test_backend_settings_reach_terraform_through_a_private_file(tmp_path, project):
    (project / "backend.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    state = tmp_path / "state dir" / "app ${x} %{y}.tfstate"  # nothing in a value is interpolated
    state.parent.mkdir()
    run = run_tasks(tmp_path, [provision("apply", project, backend_config={"path": str(state)})])
    assert run.rc == 0, run.output
    assert run.result("apply")["changed"] is True
    assert state.is_file() and stat.S_IMODE(state.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("**/conveyor.tfbackend")), "the settings file is removed after init"
