# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base: every conveyor.cicd module is a spec and one engine call.

A module file declares ``MODULE_SPEC`` (the keyword arguments of AnsibleModule: ``argument_spec``,
the constraints, ``supports_check_mode``) and ``run(module)``, which returns the result dict.
``run`` gets one of two objects with the same surface (``params``, ``check_mode``, ``_diff``,
``no_log``, ``no_log_values``, ``warn``, ``fail_json``, ``require_library``):

- ``ConveyorModule``, the AnsibleModule of a normal module process (a remote host, become, ...);
- ``EngineCall``, built by the collection's action plugins when the task runs on the controller,
  after the arguments were validated against the same ``MODULE_SPEC``.

``call_engine`` is the one place that turns what ``run`` does into a result: domain errors
(ConveyorError) become a one-line failure with their details, anything unexpected a one-line
message with the traceback kept in ``exception`` (shown only with -vvv), and a ``warnings`` list in
a result becomes real warnings.
"""

from __future__ import annotations

import copy
import errno
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import (
    validate_element_options,
    validation_message,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import url_credentials


class ModuleExit(BaseException):
    """Raised by EngineCall.fail_json/exit_json: ends the engine call with ``result`` (not an error)."""

    def __init__(self, result: dict):
        super().__init__(result.get("msg", ""))
        self.result = result


class _EngineSurface:
    """What ``run(module)`` may use besides ``params`` and ``check_mode``, on both objects."""

    def require_library(self, name: str, import_error: BaseException | None, pip_name: str | None = None) -> None:
        """Fail with one line naming the library and how to install it when an import failed."""
        if import_error is not None:
            self.fail_json(
                msg=missing_required_lib(pip_name or name),
                exception="".join(traceback.format_exception(import_error)),
            )


class ConveyorModule(_EngineSurface, AnsibleModule):
    """AnsibleModule with the collection's error handling (a module process)."""

    def __init__(self, argument_spec: dict, **kwargs):
        # AnsibleModule fills the sub-options of a default such as service={} in place: keep MODULE_SPEC's own
        # (a process that runs the module again, as Mitogen does, sees the same defaults)
        super().__init__(copy.deepcopy(argument_spec), **kwargs)
        # the mapping elements of elements: raw lists, which AnsibleModule leaves unchecked
        validation = validate_element_options(self.argument_spec, self.params)
        if validation.error_messages:
            self.fail_json(msg=validation_message(validation, self._name))

    def run(self, func) -> None:
        """Call ``func(self)`` and exit with its result, or fail with one clear line."""
        result = call_engine(func, self)
        if result.get("failed"):
            self.fail_json(**{k: v for k, v in result.items() if k != "failed"})
        self.exit_json(**result)


class EngineCall(_EngineSurface):
    """The module surface for an engine call in the controller (see plugin_utils/_module_action.py)."""

    def __init__(self, params: dict, *, check_mode: bool, diff: bool, no_log: bool, no_log_values: set[str]):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        self.no_log = no_log
        self.no_log_values = no_log_values
        self.warnings: list[str] = []

    def warn(self, warning: str) -> None:
        self.warnings.append(warning)

    def fail_json(self, msg: str, **kwargs) -> None:
        raise ModuleExit(dict(kwargs, failed=True, msg=msg))

    def exit_json(self, **kwargs) -> None:
        raise ModuleExit(kwargs)


_OS_HINTS = {
    errno.ENOSPC: "free some space on that file system",
    errno.EDQUOT: "free some space or raise the quota",
    errno.EROFS: "that file system is mounted read-only",
    errno.EACCES: "check the permissions (or use become)",
    errno.EPERM: "check the permissions (or use become)",
    errno.ENOENT: "check that the path exists",
}


def os_error_message(exc: OSError) -> str:
    """One line for an OSError no engine caught: the path(s) when known, the reason, what to do."""
    paths = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p)
    where = f" ({paths})" if paths else " (the path is unknown; run with -vvv for the traceback)"
    hint = _OS_HINTS.get(exc.errno, "check that the path exists and is accessible")
    return f"{exc.strerror or exc}{where}: {hint}"


def call_engine(func, module) -> dict:
    """``func(module)``'s result dict; a failure is a dict with ``failed=True`` and a one-line ``msg``."""
    # credentials inside URL options (https://user:token@host) are masked like no_log values everywhere
    module.no_log_values.update(url_credentials(module.params))
    try:
        result = dict(func(module))
    except ModuleExit as exc:
        result = dict(exc.result)
    except ConveyorError as exc:
        details = {k: v for k, v in exc.details.items() if k not in ("msg", "failed")}
        result = dict(details, failed=True, msg=exc.msg)
    except KeyboardInterrupt:
        result = {"failed": True, "msg": "interrupted"}
    except OSError as exc:
        result = {"failed": True, "msg": os_error_message(exc), "exception": traceback.format_exc()}
    except Exception as exc:
        result = {
            "failed": True,
            "msg": f"unexpected {type(exc).__name__}: {exc} (please report this; run with -vvv for the traceback)",
            "exception": traceback.format_exc(),
        }
    # warnings travel as warnings, never as a result key (a deprecated form since ansible-core 2.19)
    for warning in result.pop("warnings", None) or ():
        module.warn(str(warning))
    return result
