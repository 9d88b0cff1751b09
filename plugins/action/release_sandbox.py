# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs conveyor.cicd.release_sandbox in the task's worker process on a local connection (see plugin_utils/_in_process.py)."""

from __future__ import annotations

from ansible_collections.conveyor.cicd.plugins.plugin_utils._in_process import InProcessModuleAction


class ActionModule(InProcessModuleAction):
    """The release_sandbox module, run in process when the target is this machine."""
