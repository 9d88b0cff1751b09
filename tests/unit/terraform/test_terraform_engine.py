"""The pure parts of the Terraform engine: argv, plan summaries, error parsing, masking."""

from __future__ import annotations

import json
import zipfile

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, MissingDependencyError
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import mask_text
from ansible_collections.conveyor.cicd.plugins.module_utils._terraform import (
    Terraform,
    apply_argv,
    backend_config_text,
    declared_variables,
    first_error,
    init_argv,
    is_stale_plan_error,
    normalize_lock_timeout,
    parse_lock_error,
    parse_workspaces,
    plan_argv,
    plan_state_meta,
    secret_strings,
    split_outputs,
    state_meta,
    summarize_plan,
    terraform_warnings,
)

LOCK_ERROR = """
Acquiring state lock. This may take a few moments...

Error: Error acquiring the state lock

Error message: resource temporarily unavailable
Lock Info:
  ID:        88d5c61a-f1e3-902c-14d3-585e4321f2b1
  Path:      terraform.tfstate
  Operation: OperationTypeApply
  Who:       deploy@ci-runner-3
  Version:   1.11.4
  Created:   2026-11-26 07:35:18.845386613 +0000 UTC
  Info:


Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""


def change(address, *actions, **extra):
    return {"address": address, "change": {"actions": list(actions), **extra.pop("change", {})}, **extra}


def test_summary_counts_like_terraform_and_lists_addresses_per_action():
    plan = {
        "resource_changes": [
            change("a.new", "create"),
            change("a.same", "no-op"),
            change("a.edit", "update"),
            change("a.gone", "delete"),
            change("a.swap", "delete", "create"),
            change("a.swap2", "create", "delete"),
            change("data.x", "read"),
            change("a.adopted", "no-op", change={"importing": {"id": "i-1"}}),
            change("a.renamed", "no-op", previous_address="a.old_name"),
            change("a.dropped", "forget"),
        ],
        "output_changes": {"hosts": {"actions": ["update"]}, "same": {"actions": ["no-op"]}},
    }
    result = summarize_plan(plan)
    assert result["summary"] == {
        "add": 3,
        "change": 1,
        "destroy": 3,
        "replace": 2,
        "import": 1,
        "forget": 1,
        "move": 1,
        "outputs": 1,
    }
    actions = result["actions"]
    assert actions["replace"] == ["a.swap", "a.swap2"]
    assert actions["create"] == ["a.new"] and actions["delete"] == ["a.gone"]
    assert actions["read"] == ["data.x"] and actions["import"] == ["a.adopted"]
    assert actions["move"] == ["a.old_name -> a.renamed"]
    assert actions["outputs"] == ["hosts"]
    assert result["has_changes"] is True


@pytest.mark.parametrize(
    "plan",
    [
        {},
        {"resource_changes": [change("a.x", "no-op")], "output_changes": {"o": {"actions": ["no-op"]}}},
        {"resource_changes": [change("data.x", "read")]},
    ],
)
def test_plans_without_changes(plan):
    assert summarize_plan(plan)["has_changes"] is False


def test_an_output_only_change_is_a_change():
    assert summarize_plan({"output_changes": {"o": {"actions": ["create"]}}})["has_changes"] is True


def test_argv_builders():
    assert init_argv("tf", ["b.hcl", "/private/conveyor.tfbackend"], reconfigure=True) == [
        "tf",
        "init",
        "-input=false",
        "-no-color",
        "-backend-config=b.hcl",
        "-backend-config=/private/conveyor.tfbackend",
        "-reconfigure",
    ]
    argv = plan_argv("tf", "/tmp/p", destroy=True, var_files=["v.json"], targets=["a.b"], parallelism=3)
    assert argv[:6] == ["tf", "plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=/tmp/p"]
    assert "-destroy" in argv and "-lock-timeout=0s" in argv and "-parallelism=3" in argv
    assert argv[-2:] == ["-var-file=v.json", "-target=a.b"]
    assert "-lock=false" in plan_argv("tf", "p", lock=False)
    assert apply_argv("tf", "/tmp/p", lock_timeout="5m") == [
        "tf",
        "apply",
        "-input=false",
        "-no-color",
        "-auto-approve",
        "-lock-timeout=5m",
        "/tmp/p",
    ]


@pytest.mark.parametrize(
    ("given", "expected"), [(0, "0s"), ("30", "30s"), ("5m", "5m"), (" 1h ", "1h"), ("250ms", "250ms")]
)
def test_lock_timeout_forms(given, expected):
    assert normalize_lock_timeout(given) == expected


@pytest.mark.parametrize("given", ["soon", "-1", "5 minutes", "1d"])
def test_bad_lock_timeout_is_one_line(given):
    with pytest.raises(ConfigurationError, match="lock_timeout must be"):
        normalize_lock_timeout(given)


def test_lock_error_is_parsed():
    lock = parse_lock_error(LOCK_ERROR)
    assert lock == {
        "id": "88d5c61a-f1e3-902c-14d3-585e4321f2b1",
        "path": "terraform.tfstate",
        "operation": "OperationTypeApply",
        "who": "deploy@ci-runner-3",
        "version": "1.11.4",
        "created": "2026-11-26 07:35:18.845386613 +0000 UTC",
    }
    assert parse_lock_error("Error: something else") is None


def test_first_error_and_warnings():
    text = (
        "Initializing...\n\nWarning: Deprecated flag\n\nError: Reference to undeclared input variable\n\n"
        '  on main.tf line 3, in resource "x" "y":\n   3:   v = var.nope\n'
    )
    assert first_error(text) == "main.tf:3: Reference to undeclared input variable"
    assert first_error("Error: Saved plan is stale\n\nThe given plan file can no longer be applied") == (
        "Saved plan is stale: The given plan file can no longer be applied"
    )
    assert first_error("boom\n") == "boom"
    assert terraform_warnings(text + "Warning: Deprecated flag\n") == ["Deprecated flag"]
    assert is_stale_plan_error("Error: Saved plan is stale") and not is_stale_plan_error(text)


INIT_SYNTAX_ERROR = """Initializing the backend...

Error: Terraform encountered problems during initialisation, including problems
with the configuration, described below.

The Terraform configuration must be valid before initialization so that
Terraform can determine which modules and providers need to be installed.


Error: Invalid expression

  on main.tf line 5, in resource "terraform_data" "x":
   5:  value = 1 +
   6: }

Expected the start of an expression, but found an invalid expression token.
"""


def test_first_error_skips_terraforms_wrapper_and_gives_file_line_and_detail():
    assert first_error(INIT_SYNTAX_ERROR) == (
        "main.tf:5: Invalid expression: Expected the start of an expression, but found an invalid expression token"
    )
    boxed = "\n".join(f"│ {line}" for line in INIT_SYNTAX_ERROR.splitlines()[9:])
    assert first_error(f"╷\n{boxed}\n╵").startswith("main.tf:5: Invalid expression: Expected the start")


def test_masking_covers_nested_values_and_json_escapes():
    secrets = secret_strings({"a": "s3cr3t", "b": ["x", 'quo"te'], "c": {"d": 12345}, "e": True})
    assert "x" not in secrets and "True" not in secrets
    text = 'pass=s3cr3t json="quo\\"te" n=12345 ok'
    assert mask_text(text, secrets) == 'pass=******** json="********" n=******** ok'
    assert mask_text(None, secrets) is None


def test_outputs_split_and_workspaces_parse():
    plain, sensitive = split_outputs(
        {"a": {"value": 1, "sensitive": False}, "t": {"value": "x", "sensitive": True}, "n": {"value": None}}
    )
    assert plain == {"a": 1, "n": None} and sensitive == {"t": "x"}
    assert parse_workspaces("  default\n* staging\n  production\n\n") == (
        ["default", "staging", "production"],
        "staging",
    )


def test_declared_variables_read_from_the_plan_configuration():
    plan = {"configuration": {"root_module": {"variables": {"a": {}, "pw": {"sensitive": True}}}}}
    assert declared_variables(plan) == {"a": {"sensitive": False}, "pw": {"sensitive": True}}
    assert declared_variables({}) == {}


def test_state_metadata_of_plans_and_states(tmp_path):
    plan_file = tmp_path / "p.tfplan"
    with zipfile.ZipFile(plan_file, "w") as archive:
        archive.writestr("tfstate", json.dumps({"lineage": "L1", "serial": 4}))
    assert plan_state_meta(str(plan_file)) == ("L1", 4)
    (tmp_path / "junk").write_text("not a zip")
    assert plan_state_meta(str(tmp_path / "junk")) is None
    assert state_meta("") == ("", 0)
    assert state_meta(json.dumps({"lineage": "L1", "serial": 5})) == ("L1", 5)
    assert state_meta("{broken") is None


def test_missing_binary_names_what_to_install():
    with pytest.raises(MissingDependencyError) as caught:
        Terraform("tofu-missing-here", "/tmp")
    assert "tofu-missing-here" in caught.value.msg and "OpenTofu" in caught.value.msg


def test_bad_workspace_name(tmp_path):
    with pytest.raises(ConfigurationError, match="not a valid workspace name"):
        Terraform("sh", str(tmp_path), workspace="../etc")


def test_backend_settings_become_a_file_with_nothing_interpolated():
    text = backend_config_text(
        {"path": "/s/t.tfstate", "encrypt": True, "retries": 3, "password": 'p"w\\${x}%{y}\n', "tags": ["a", "b"]}
    )
    assert text.splitlines() == [
        "encrypt = true",
        'password = "p\\"w\\\\$${x}%%{y}\\n"',
        'path = "/s/t.tfstate"',
        "retries = 3",
        'tags = ["a", "b"]',
    ]
    with pytest.raises(ConfigurationError, match="not a valid setting name"):
        backend_config_text({"bad key": "x"})
