# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a conveyor.cicd module inside the task's worker process when it would run on this machine anyway.

Ansible runs every module task by starting a new Python interpreter that unpacks the module and
its module_utils (AnsiballZ). On a small controller that costs about 0.2-0.3 s per task, which is
most of a no-change pipeline run. When the task targets this machine (``connection: local``, no
``become``, no ``async``, no ``delegate_to``) and the module would run with the controller's own
interpreter (``ansible_python_interpreter`` is ``ansible_playbook_python``, as for the implicit
localhost), the module's ``main()`` is called in the worker process Ansible already forked for
the task. Arguments go through the same ``_ansible_*`` internal options, the same JSON encoding
and the same result parsing as a normal module run, so results, check mode, diff mode, no_log,
``environment`` and warnings behave the same. Every other case runs the module the normal way.

Set ``conveyor_in_process: false`` (a play, host or extra var) to always run modules the normal way.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import shutil
import sys
import tempfile
import traceback

from ansible import constants as C
from ansible.module_utils import _internal, basic
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.vars.clean import remove_internal_keys

display = Display()

# the serialization profile every conveyor.cicd module uses (ansible-core's default for Python modules)
_PROFILE = "legacy"
_LOCAL_CONNECTIONS = frozenset(
    ("local", "ansible.builtin.local", "ansible.legacy.local", "conveyor.cicd.local", "mitogen_local")
)
_DISCOVERY_MODES = frozenset(("auto", "auto_legacy", "auto_silent", "auto_legacy_silent"))


class InProcessModuleAction(ActionBase):
    """Action plugin for a conveyor.cicd module: in the worker process when local, else the normal way."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars if task_vars is not None else {}
        why_not = self._in_process_refusal(task_vars)
        if why_not is None:
            display.vvv(f"conveyor.cicd: running {self._task.action} in the controller's worker process")
            result.update(self._run_in_process(task_vars))
            return result
        display.vvvv(f"conveyor.cicd: running {self._task.action} as a module process ({why_not})")
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result.update(self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # -- the decision ---------------------------------------------------------------------------

    def _in_process_refusal(self, task_vars: dict) -> str | None:
        """None when the module may run in this process, else the reason it may not."""
        wanted = task_vars.get("conveyor_in_process", True)
        try:
            wanted = boolean(self._templar.template(wanted), strict=True)
        except TypeError:
            wanted = True
        if not wanted:
            return "conveyor_in_process is false"
        if self._connection_name() not in _LOCAL_CONNECTIONS:
            return "the connection is not local"
        if self._task.delegate_to:
            return "the task is delegated"
        if self._play_context.become:
            return "the task uses become"
        if self._task.async_val:
            return "the task is async"
        interpreter = self._target_interpreter(task_vars)
        if interpreter is None:
            return "the target's Python is not known before interpreter discovery"
        if os.path.abspath(interpreter) != os.path.abspath(sys.executable):
            return "the target's Python is not the controller's"
        return None

    def _connection_name(self) -> str:
        """The connection plugin's name, however it was loaded (short, FQCN or redirected)."""
        for name in (getattr(self._connection, "_load_name", None), getattr(self._connection, "ansible_name", None)):
            if name in _LOCAL_CONNECTIONS:
                return name
        return getattr(self._connection, "transport", "") or ""

    def _target_interpreter(self, task_vars: dict) -> str | None:
        """The Python the module would run with: ansible_python_interpreter, the config, or discovery's fact."""
        configured = C.config.get_config_value("INTERPRETER_PYTHON", variables=task_vars)
        interpreter = self._templar.template(configured) if configured else None
        if not interpreter or interpreter in _DISCOVERY_MODES:
            interpreter = task_vars.get("ansible_facts", {}).get("discovered_interpreter_python")
        return interpreter if isinstance(interpreter, str) and interpreter else None

    # -- the run -----------------------------------------------------------------------------------

    def _run_in_process(self, task_vars: dict) -> dict:
        module_name = self._task.action
        module_args = dict(self._task.args)
        self._update_module_args(module_name, module_args, task_vars)
        environment: dict = {}
        self._compute_environment_string(raw_environment_out=environment)

        workdir = tempfile.mkdtemp(prefix="conveyor-module-")
        module_args["_ansible_tmpdir"] = workdir
        module_args["_ansible_remote_tmp"] = workdir
        encoder = get_module_encoder(_PROFILE, Direction.CONTROLLER_TO_MODULE)
        params = json.dumps({"ANSIBLE_MODULE_ARGS": module_args}, cls=encoder).encode("utf-8")
        try:
            stdout, rc = _call_module(module_import_path(module_name), params, environment)
        finally:
            if not C.DEFAULT_KEEP_REMOTE_FILES:
                shutil.rmtree(workdir, ignore_errors=True)

        data = self._parse_returned_data({"rc": rc, "stdout": stdout, "stderr": ""}, _PROFILE)
        data.pop("_ansible_suppress_tmpdir_delete", None)
        remove_internal_keys(data)
        for key in ("stdout", "stderr"):
            if key in data and f"{key}_lines" not in data:
                data[f"{key}_lines"] = (data.get(key) or "").splitlines()
        return data


def module_import_path(action: str) -> str:
    """The import path of a conveyor.cicd module from the task's action name."""
    short = action.rsplit(".", 1)[-1]
    return f"ansible_collections.conveyor.cicd.plugins.modules.{short}"


def _call_module(module_path: str, params: bytes, environment: dict) -> tuple[str, int]:
    """Run the module as ``__main__`` with ``params``; return what it printed and its exit code."""
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    out = io.StringIO()
    rc = 0
    basic._ANSIBLE_ARGS = params
    basic._ANSIBLE_PROFILE = _PROFILE
    basic._PARSED_MODULE_ARGS = None
    os.environ.update({str(k): str(v) for k, v in environment.items()})
    # as on a target: warnings and deprecations go into the module's result, not to the controller's display
    was_controller = _internal.is_controller
    _internal.is_controller = False
    try:
        with contextlib.redirect_stdout(out):
            try:
                runpy.run_module(module_path, run_name="__main__", alter_sys=False)
                rc = 1  # a module that returns without exit_json/fail_json is an error
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # an import error or a bug outside the module's own error handling
        encoder = get_module_encoder(_PROFILE, Direction.MODULE_TO_CONTROLLER)
        failure = {
            "failed": True,
            "msg": f"{module_path.rsplit('.', 1)[-1]} could not run: {type(exc).__name__}: {exc}",
            "exception": traceback.format_exc(),
        }
        return json.dumps(failure, cls=encoder), 1
    finally:
        _internal.is_controller = was_controller
        os.environ.clear()
        os.environ.update(saved_environ)
        with contextlib.suppress(OSError):
            os.chdir(saved_cwd)
        basic._ANSIBLE_ARGS = None
        basic._PARSED_MODULE_ARGS = None
    text = out.getvalue()
    if rc == 1 and not text.strip():
        text = json.dumps({"failed": True, "msg": f"{module_path.rsplit('.', 1)[-1]} ended without a result"})
    return text, rc
