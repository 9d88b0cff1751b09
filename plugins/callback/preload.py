# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load each task's plugins once in the controller instead of in every worker
version_added: 0.2.0
description:
  - Ansible runs every task on every host in a worker process forked from the controller. Whatever the
    controller has not loaded yet, each worker loads again - the task's action plugin, the connection
    plugin (collection plugins are compiled and their documentation parsed each time) and, for modules
    that run in process or in a fork of the worker (see C(conveyor.cicd.local)), the module's code and
    its C(module_utils). That costs 5-15 ms per task and host.
  - This callback loads them in the controller just before each task's workers start, so every worker
    inherits them. It changes no result and prints nothing.
  - Loading is best-effort - a plugin that cannot be loaded is left to the worker, which reports the
    problem as it always would.
  - It is an aggregate callback, so it works beside any stdout callback. Enable it with
    C(callbacks_enabled = conveyor.cicd.preload).
author: conveyor.cicd maintainers (@conveyor-cicd)
requirements:
  - enable in configuration (C(callbacks_enabled) or E(ANSIBLE_CALLBACKS_ENABLED))
options:
  import_modules:
    description:
      - Also import the module code (and its C(module_utils)) of each task's module in the controller, for
        the modules of ansible-core and of this collection (whose import runs nothing). Modules of other
        collections and C(library/) modules are never imported; only their action plugin is loaded.
    type: bool
    default: true
    env:
      - name: CONVEYOR_PRELOAD_MODULES
    ini:
      - section: conveyor_preload
        key: import_modules
"""

from ansible.plugins.callback import CallbackBase

from ansible_collections.conveyor.cicd.plugins.plugin_utils._preload import Preloader


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "conveyor.cicd.preload"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._preloader = None

    def _ready(self) -> Preloader:
        if self._preloader is None:
            self._preloader = Preloader(import_modules=self.get_option("import_modules"))
            self._preloader.start()
        return self._preloader

    def v2_playbook_on_start(self, playbook):
        self._ready()

    def _task(self, task) -> None:
        preloader = self._ready()
        preloader.task(getattr(task, "resolved_action", None) or task.action, getattr(task, "collections", None))

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task)

    def v2_playbook_on_stats(self, stats):
        if self._preloader is not None:
            loaded, failed = self._preloader.loaded, self._preloader.failed
            self._display.vvvv(f"conveyor.cicd.preload: loaded in the controller: {', '.join(loaded) or 'nothing'}")
            if failed:
                self._display.vvvv(f"conveyor.cicd.preload: left to the workers: {', '.join(failed)}")
