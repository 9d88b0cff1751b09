# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of every conveyor.cicd module: the engine in the controller when the task runs here.

A module task normally costs a new Python interpreter that unpacks the module and its module_utils.
When the task runs on the controller anyway (a local connection, no ``become``, no ``async``, not
delegated to another host, and the target's Python is the one running Ansible), this action plugin does what the
module would do, in the worker process Ansible already forked for the task:

1. validate the task's arguments with ansible-core's public ``ArgumentSpecValidator`` against the
   module's own ``MODULE_SPEC`` (types, defaults, choices, constraints, fallbacks), then the mapping
   elements of ``elements: raw`` lists as the module does (module_utils/_argspec.py);
2. call the module's ``run()`` with an ``EngineCall`` (module_utils/_module.py) carrying the
   validated parameters, check mode, diff mode and ``no_log``, under the task's ``environment``;
3. mask every ``no_log`` parameter value in the result with the public ``remove_values`` and hand
   warnings to ``Display``, as ansible-core does for a module's result.

Everything else (remote hosts, containers, become, another interpreter, async) runs the module the
normal way with ``_execute_module``. Only documented plugin API is used: ``ActionBase`` and its
module execution, ``Display``, ``ansible.module_utils.common.*``; nothing depends on how
ansible-core builds or sends modules. Set ``conveyor_in_process: false`` to always run the module.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import os
import sys
from collections.abc import Iterator, Mapping

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import (
    validate_element_options,
    validation_message,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._module import EngineCall, call_engine

display = Display()

# connection plugins whose commands run on this machine (ansible.builtin.local, Mitogen's local)
_LOCAL_TRANSPORTS = frozenset(("local", "mitogen_local"))
_DISCOVERY_MODES = frozenset(("auto", "auto_legacy", "auto_silent", "auto_legacy_silent"))
# AnsibleModule keywords that are constraints for the validator
_CONSTRAINTS = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")


class ModuleAction(ActionBase):
    """Run the conveyor.cicd module of the same name: its engine in the controller when local, else the module."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars if task_vars is not None else {}
        why_not = self._controller_refusal(task_vars)
        if why_not is None:
            display.vvv(f"conveyor.cicd: {self._task.action} runs its engine in the controller")
            result.update(self._run_in_controller(task_vars))
            return result
        display.vvvv(f"conveyor.cicd: {self._task.action} runs as a module ({why_not})")
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result.update(self._execute_module(module_name=self._module_fqcn(), task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # -- which module ----------------------------------------------------------------------------

    def _plugin_module(self) -> str:
        """The Python module that defines this action plugin: ``...plugins.action.<name>``. Found through the
        class hierarchy, since a strategy may wrap the class in one it defines elsewhere (Mitogen does)."""
        for klass in type(self).__mro__:
            if ".plugins.action." in klass.__module__:
                return klass.__module__
        raise AnsibleError(f"{type(self).__name__} is not defined in a collection's plugins/action")

    def _module_import_path(self) -> str:
        """``...plugins.action.<name>`` -> ``...plugins.modules.<name>``: the module this plugin belongs to."""
        package, name = self._plugin_module().rsplit(".", 1)
        return f"{package.rsplit('.', 1)[0]}.modules.{name}"

    def _module_fqcn(self) -> str:
        return "conveyor.cicd." + self._plugin_module().rpartition(".")[2]

    # -- the decision ------------------------------------------------------------------------------

    def _controller_refusal(self, task_vars: dict) -> str | None:
        """None when the engine may run in this process, else the reason it may not."""
        wanted = task_vars.get("conveyor_in_process", True)
        try:
            wanted = boolean(self._templar.template(wanted), strict=True)
        except TypeError:
            wanted = True
        if not wanted:
            return "conveyor_in_process is false"
        if getattr(self._connection, "transport", None) not in _LOCAL_TRANSPORTS:
            return "the connection is not local"
        # delegating a host's task to that same host changes nothing (a role's delegate_to: localhost, run there)
        if self._task.delegate_to and self._task.delegate_to != task_vars.get("inventory_hostname"):
            return "the task is delegated"
        if self._play_context.become:
            return "the task uses become"
        if self._task.async_val:
            return "the task is async"
        interpreter = self._target_interpreter(task_vars)
        if interpreter is None:
            return "the target's Python is not known before interpreter discovery"
        if os.path.realpath(interpreter) != os.path.realpath(sys.executable):
            return "the target's Python is not the controller's"
        return None

    def _target_interpreter(self, task_vars: dict) -> str | None:
        """The Python the module would run with: the interpreter_python setting, else the discovery fact."""
        try:  # the setting and its variable ansible_python_interpreter, by ansible-core's configuration API
            configured = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
        except AnsibleError:
            configured = None
        interpreter = self._templar.template(configured) if configured else None
        if not interpreter or interpreter in _DISCOVERY_MODES:
            interpreter = task_vars.get("ansible_facts", {}).get("discovered_interpreter_python")
        return interpreter if isinstance(interpreter, str) and interpreter else None

    # -- the run -----------------------------------------------------------------------------------

    def _run_in_controller(self, task_vars: dict) -> dict:
        try:
            module = importlib.import_module(self._module_import_path())
        except ImportError as exc:  # a library the module needs is missing: say which
            return {"failed": True, "msg": f"{self._module_fqcn()} could not be loaded: {exc}"}
        with _environment(self._task_environment()):
            params, no_log_values, msg = validate_arguments(
                module.MODULE_SPEC, dict(self._task.args), self._task.action
            )
            if msg is not None:
                return remove_values({"failed": True, "msg": msg}, no_log_values)
            call = EngineCall(
                params,
                check_mode=bool(self._task.check_mode),
                diff=bool(self._task.diff),
                no_log=bool(self._task.no_log) or C.DEFAULT_NO_LOG,
                no_log_values=no_log_values,
            )
            result = call_engine(module.run, call)
        if _injects_invocation(task_vars):  # as AnsibleModule reports it on this ansible-core
            result.setdefault("invocation", {"module_args": params})
        else:
            result.pop("invocation", None)
        result = remove_values(result, call.no_log_values)
        for warning in remove_values(call.warnings, call.no_log_values):
            display.warning(warning)
        exception = result.pop("exception", None)
        if exception and result.get("failed"):
            display.vvv(str(exception))
        result.setdefault("changed", False)
        return result

    def _task_environment(self) -> dict[str, str]:
        """The task's ``environment`` (play, block and task levels merged, templated), as for a module."""
        merged: dict = {}
        environments = self._task.environment or []
        if not isinstance(environments, list):
            environments = [environments]
        for environment in environments:
            if not environment:
                continue
            templated = self._templar.template(environment)
            if not isinstance(templated, Mapping):
                raise AnsibleError(f"environment must be a dictionary, got {type(templated).__name__}")
            merged.update(templated)
        return {str(k): str(v) for k, v in merged.items()}


def validate_arguments(module_spec: Mapping, args: dict, action: str) -> tuple[dict, set[str], str | None]:
    """``args`` checked as a module process checks them: (parameters, no_log values, failure message or None)."""
    # the validator stores a default object in the parameters and fills in its sub-options in place: a copy
    # keeps a default such as service={} from carrying one task's values into the next
    spec = copy.deepcopy(dict(module_spec))
    argument_spec = spec["argument_spec"]
    validator = ArgumentSpecValidator(argument_spec, **{k: spec[k] for k in _CONSTRAINTS if k in spec})
    validation = validator.validate(args)
    params = validation.validated_parameters
    no_log_values = set(no_log_values_of(argument_spec, params))
    if not validation.error_messages:  # then what ConveyorModule checks after AnsibleModule
        validation = validate_element_options(argument_spec, params)
    if validation.error_messages:  # the message a module process gives for the same arguments
        return params, no_log_values, validation_message(validation, action)
    return params, no_log_values, None


def no_log_values_of(argument_spec: dict, params: Mapping | None) -> Iterator[str]:
    """The string forms of every value whose option (or suboption) is ``no_log`` in ``argument_spec``."""
    if not isinstance(params, Mapping):
        return
    for name, option in argument_spec.items():
        value = params.get(name)
        if value is None:
            continue
        if option.get("no_log"):
            yield from _leaf_strings(value)
        elif option.get("options"):
            items = value if isinstance(value, list) else [value]
            for item in items:
                yield from no_log_values_of(option["options"], item)


def _leaf_strings(value) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaf_strings(item)
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from _leaf_strings(item)
    elif value is not None and not isinstance(value, bool):
        text = str(value)
        if text:
            yield text


@contextlib.contextmanager
def _environment(extra: dict[str, str]):
    """``os.environ`` with ``extra`` for the engine call, restored afterwards."""
    saved = dict(os.environ)
    saved_cwd = os.getcwd()
    os.environ.update(extra)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)


def _injects_invocation(task_vars: Mapping) -> bool:
    """Whether a module result carries ``invocation``: always before ansible-core 2.21, since then only
    with the ``inject_invocation`` setting (false by default)."""
    try:
        return bool(C.config.get_config_value("INJECT_INVOCATION", variables=task_vars))
    except AnsibleError:  # no such setting: ansible-core 2.20 or older
        return True
