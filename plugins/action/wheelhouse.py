# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs conveyor.cicd.wheelhouse: its engine in the controller when the task runs here (see plugin_utils/_module_action.py)."""

from __future__ import annotations

from ansible_collections.conveyor.cicd.plugins.plugin_utils._module_action import ModuleAction


class ActionModule(ModuleAction):
    """The wheelhouse module, engine called in the controller when the task runs on it."""
