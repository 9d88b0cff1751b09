# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stdout callback: prints one JSON document with every task result at the end of the run.

ansible-core 2.19 no longer ships a json callback, and ansible.posix is not a dependency, so the
tests read results through this one. The shape matches the usual json callback:
{"plays": [{"play": {...}, "tasks": [{"task": {"name"}, "hosts": {host: result}}]}], "stats": {...}}.
"""

from __future__ import annotations

import json

from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: conveyor_test_json
type: stdout
short_description: JSON results for the test suite
description: Prints all task results as one JSON document when the playbook ends.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "conveyor_test_json"

    def __init__(self):
        super().__init__()
        self.results = []
        self._tasks = {}

    def v2_playbook_on_play_start(self, play):
        self.results.append({"play": {"name": play.get_name()}, "tasks": []})

    def _task_entry(self, task):
        key = task._uuid
        if key not in self._tasks:
            entry = {"task": {"name": task.get_name(), "id": key}, "hosts": {}}
            self._tasks[key] = entry
            self.results[-1]["tasks"].append(entry)
        return self._tasks[key]

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_entry(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_entry(task)

    def _record(self, result, **extra):
        entry = self._task_entry(result._task)
        data = dict(result._result)
        data.update(extra)
        entry["hosts"][result._host.get_name()] = data

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        self._display.display(
            json.dumps({"plays": self.results, "stats": summary}, cls=AnsibleJSONEncoder, indent=1, sort_keys=True)
        )
