# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module base: every conveyor.cicd module is a ConveyorModule.

A module declares its argument spec and hands one function to ``run``. That function
returns the result dict; domain errors (ConveyorError) become a one-line ``fail_json``
with their details, and anything unexpected becomes a one-line message with the
traceback kept in ``exception`` (shown only with -vvv).
"""

from __future__ import annotations

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError


class ConveyorModule(AnsibleModule):
    """AnsibleModule with the collection's error handling and helpers."""

    def require_library(self, name: str, import_error: BaseException | None, pip_name: str | None = None) -> None:
        """Fail with one line naming the library and how to install it when an import failed."""
        if import_error is not None:
            self.fail_json(
                msg=missing_required_lib(pip_name or name),
                exception="".join(traceback.format_exception(import_error)),
            )

    def run(self, func) -> None:
        """Call ``func(self)`` and exit with its result dict, or fail with one clear line."""
        try:
            result = func(self)
        except ConveyorError as exc:
            details = {k: v for k, v in exc.details.items() if k not in ("msg", "failed")}
            self.fail_json(msg=exc.msg, **details)
        except KeyboardInterrupt:
            self.fail_json(msg="interrupted")
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            self.fail_json(
                msg=f"{exc.strerror or exc}{where}: check that the path exists and is accessible",
                exception=traceback.format_exc(),
            )
        except Exception as exc:
            self.fail_json(
                msg=f"unexpected {type(exc).__name__}: {exc} (please report this; run with -vvv for the traceback)",
                exception=traceback.format_exc(),
            )
        self.exit_json(**result)
