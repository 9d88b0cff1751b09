"""Each module's argument handling at its boundary, without a playbook.

Arguments go through both ways a module validates them: a module process (``ConveyorModule`` with
ansible-core's ``patch_module_args``) and the action plugin's controller path (``ArgumentSpecValidator``
against ``MODULE_SPEC``, then ``validate_element_options``). Both must accept the same arguments,
coerce them the same way and refuse them with the same message. The cases are in ``cases.yml``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import pkgutil
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.conveyor.cicd.plugins import modules as modules_package
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.plugin_utils._module_action import (
    no_log_values_of,
    validate_arguments,
)

MODULES = sorted(info.name for info in pkgutil.iter_modules(modules_package.__path__))
CASES = yaml.safe_load((Path(__file__).with_name("cases.yml")).read_text())
# a sample of each type, for an EXAMPLES value that is a Jinja expression
_SAMPLES = {"dict": {}, "list": [], "int": 1, "float": 1.0, "bool": True}


def load(name: str):
    return importlib.import_module(f"ansible_collections.conveyor.cicd.plugins.modules.{name}")


def in_controller(name: str, args: dict) -> dict:
    """What the action plugin does with ``args``: ``{"params": ...}`` or ``{"msg": ...}``."""
    params, _no_log_values, msg = validate_arguments(load(name).MODULE_SPEC, args, f"conveyor.cicd.{name}")
    return {"params": params} if msg is None else {"msg": msg}


def in_module_process(name: str, args: dict) -> dict:
    """What a module process does with ``args``, up to calling its engine."""
    out = io.StringIO()
    with (
        patch_module_args(dict(args, _ansible_module_name=f"conveyor.cicd.{name}")),
        contextlib.redirect_stdout(out),
    ):
        try:
            module = ConveyorModule(**load(name).MODULE_SPEC)
        except SystemExit:
            return {"msg": json.loads(out.getvalue())["msg"]}
    return {"params": module.params}


def untemplated(argument_spec: dict, args: dict) -> dict:
    """``args`` with each Jinja expression standing for a dict, list, number or bool replaced by a sample."""
    out = {}
    for key, value in args.items():
        option = argument_spec.get(key, {})
        if isinstance(value, str) and "{{" in value:
            value = _SAMPLES.get(option.get("type"), value)
        elif isinstance(value, dict) and option.get("options"):
            value = untemplated(option["options"], value)
        out[key] = value
    return out


def example_tasks():
    for name in MODULES:
        tasks = yaml.safe_load(load(name).EXAMPLES)
        for index, task in enumerate(tasks):
            if f"conveyor.cicd.{name}" in task:
                yield pytest.param(name, task[f"conveyor.cicd.{name}"], id=f"{name}-{index}")


@pytest.mark.parametrize(("name", "args"), list(example_tasks()))
def test_every_example_is_valid_both_ways(name, args):
    args = untemplated(load(name).MODULE_SPEC["argument_spec"], args)
    controller, process = in_controller(name, args), in_module_process(name, args)
    assert "msg" not in controller, controller["msg"]
    assert controller == process


def test_a_default_is_not_changed_by_validating_with_it():
    """One worker may run a task several times (a loop): each run starts from the spec's own defaults."""
    first = in_controller("app_rollout", {"root": "/srv/app", "state": "rolled_back"})
    again = in_controller("app_rollout", {"root": "/srv/app", "state": "rolled_back"})
    assert first == again
    assert load("app_rollout").MODULE_SPEC["argument_spec"]["service"]["default"] == {}


def test_every_module_has_examples():
    named = {param.values[0] for param in example_tasks()}
    assert named == set(MODULES)


def case_params():
    for name, cases in CASES.items():
        for case in cases:
            yield pytest.param(name, case, id=f"{name}-{case['id']}")


@pytest.mark.parametrize(("name", "case"), list(case_params()))
def test_arguments_are_checked_and_coerced_as_documented(name, case):
    controller, process = in_controller(name, case["args"]), in_module_process(name, case["args"])
    assert controller == process
    if "error" in case:
        assert controller.get("msg") == case["error"]
    else:
        assert "msg" not in controller, controller["msg"]
        for dotted, expected in case.get("params", {}).items():
            value = controller["params"]
            for part in dotted.split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
            assert value == expected, dotted


def test_every_module_has_cases():
    assert set(CASES) == set(MODULES)


def test_only_secret_leaves_of_repository_options_are_masked():
    params = in_controller(
        "app_rollout",
        {
            "root": "/srv/app",
            "repository": "https://repo.example.com/raw",
            "name": "app",
            "version": "1.0.0",
            "repository_options": {"username": "deployer", "password": "s3cret", "token": "t0ken", "retries": 0},
        },
    )["params"]
    argument_spec = load("app_rollout").MODULE_SPEC["argument_spec"]
    assert set(no_log_values_of(argument_spec, params)) == {"s3cret", "t0ken"}


def test_repository_option_docs_agree_with_the_spec_and_each_other():
    from ansible_collections.conveyor.cicd.plugins.doc_fragments.artifact_repository import ModuleDocFragment
    from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import (
        REPOSITORY_CONNECTION,
        REPOSITORY_CREDENTIALS,
    )

    top = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    top.pop("repository")
    for variant, option, spec in (
        (ModuleDocFragment.REPOSITORY_OPTIONS, "repository_options", REPOSITORY_CONNECTION),
        (ModuleDocFragment.DEST_OPTIONS, "dest_options", REPOSITORY_CREDENTIALS),
    ):
        documented = yaml.safe_load(variant.replace(f"O({option}.", "O("))["options"][option]["suboptions"]
        assert documented == {key: top[key] for key in spec}, option
    for key, option in REPOSITORY_CONNECTION.items():
        assert (top[key]["type"], top[key].get("default")) == (option["type"], option.get("default")), key


def test_the_connection_spec_has_every_option_the_engine_reads():
    from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import (
        ARTIFACT_REPOSITORY,
        REPOSITORY_CONNECTION,
    )
    from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import connection_options

    assert set(connection_options({})) == set(ARTIFACT_REPOSITORY) - {"repository"}
    assert set(ARTIFACT_REPOSITORY) - set(REPOSITORY_CONNECTION) == {"repository", "stale_age"}


def test_structured_options_declare_exactly_the_keys_their_engines_read():
    from ansible_collections.conveyor.cicd.plugins.module_utils import _health, _lint, _service, _test_suite

    argument_spec = load("app_rollout").MODULE_SPEC["argument_spec"]
    assert set(argument_spec["service"]["options"]) == set(_service.DEFAULTS)
    assert set(argument_spec["health"]["options"]) == set(_health.DEFAULTS)
    assert set(load("test_suite").MODULE_SPEC["argument_spec"]["suites"]["options"]) == _test_suite.SUITE_KEYS
    # lint checks its tools itself: the documentation names the keys it accepts
    assert set(yaml.safe_load(load("lint").DOCUMENTATION)["options"]["tools"]["suboptions"]) == set(_lint.TOOL_KEYS)
