# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load a task's plugins and module code once in the controller process instead of in every worker.

Ansible runs each task on each host in a worker forked from the controller process. A plugin or a
module the controller process has not loaded yet is loaded again in every worker: the action plugin,
the connection plugin (collection plugins are compiled from source each time, and their
documentation parsed for their options), the module's ``module_utils`` for modules run in process or
in a fork. That is 5-15 ms per task and host. Loading them once in the controller, just before the
task's workers start, lets every worker inherit them.

Everything here is best-effort: a plugin that cannot be loaded is left to the worker, which reports
the problem exactly as it would have.
"""

from __future__ import annotations

import importlib
import os

from ansible.plugins.loader import action_loader, connection_loader, module_loader

from ansible_collections.conveyor.cicd.plugins.plugin_utils._in_process import module_import_path

# connections and actions every worker of a run on this machine may need
CONNECTIONS = ("conveyor.cicd.local", "ansible.builtin.local")
ACTIONS = ("ansible.legacy.normal",)
_OURS = "conveyor.cicd."
_ANSIBLE_MODULES = os.path.join(os.path.dirname(importlib.import_module("ansible").__file__), "modules")


def _python_module_name(context) -> str | None:
    """The import name of a resolved module whose code the controller may import, else None.

    Only ansible-core's modules and this collection's: their code runs nothing at import (``main()``
    is guarded), which is not guaranteed for any module (some call ``main()`` at import and would run
    in the controller). A playbook's or role's ``library/`` module is never imported.
    """
    path = context.plugin_resolved_path or ""
    fqcn = context.resolved_fqcn or ""
    if not path.endswith(".py"):
        return None
    if os.path.dirname(os.path.realpath(path)) == os.path.realpath(_ANSIBLE_MODULES):
        return f"ansible.modules.{os.path.basename(path)[:-3]}"
    if fqcn.startswith(_OURS) and fqcn.count(".") == 2:
        return module_import_path(fqcn)
    return None


class Preloader:
    """Remembers what it loaded, so each plugin is loaded once per run."""

    def __init__(self, import_modules: bool = True):
        self.import_modules = import_modules
        self.seen: set[str] = set()
        self.loaded: list[str] = []
        self.failed: list[str] = []

    def _try(self, what: str, load) -> None:
        if what in self.seen:
            return
        self.seen.add(what)
        try:
            if load():
                self.loaded.append(what)
        except Exception as exc:  # best-effort: the worker loads it and reports any problem itself
            self.failed.append(f"{what} ({type(exc).__name__}: {exc})")

    def start(self) -> None:
        for name in CONNECTIONS:
            self._try(f"connection {name}", lambda n=name: connection_loader.get(n, class_only=True))
        for name in ACTIONS:
            self._try(f"action {name}", lambda n=name: action_loader.get(n, class_only=True))

    def task(self, action: str, collections=None) -> None:
        """Load the action plugin and the module code of a task's action (its resolved name)."""
        if not action:
            return
        self._try(f"action {action}", lambda: action_loader.get(action, class_only=True, collection_list=collections))
        if not self.import_modules:
            return

        def module():
            context = module_loader.find_plugin_with_context(action, collection_list=collections)
            name = _python_module_name(context) if context.resolved else None
            if name is None:
                return False
            importlib.import_module(name)
            return True

        self._try(f"module {action}", module)
