# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Domain errors shared by the whole engine.

Every error the user can cause or fix is a ConveyorError whose message is one line:
what is wrong, and how to fix it. The module base turns it into fail_json.
"""

from __future__ import annotations


class ConveyorError(Exception):
    """A failure with a message meant for the user, plus structured details for the result."""

    def __init__(self, msg: str, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self) -> str:
        return self.msg


class ConfigurationError(ConveyorError):
    """Bad or inconsistent input: a parameter, a path or a tool name."""


class CommandError(ConveyorError):
    """A command ran and failed, or could not be started."""


class MissingDependencyError(ConveyorError):
    """A binary or Python library needed on the target host is not installed."""
