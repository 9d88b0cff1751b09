#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: logrotate
short_description: Run logrotate on one configuration file and report which logs it rotated
version_added: 0.2.0
description:
  - Runs C(logrotate -v) on O(config), with its own O(state_file) when given (for logs outside the system's
    logrotate run, or to rotate now), and returns the logs it rotated.
  - It reports a change only when logrotate rotated a log, so a run in which nothing was due is unchanged.
  - A configuration that logrotate refuses fails the task with logrotate's own error line.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Runs C(logrotate -d) on the same configuration and state file, which changes nothing and names
      the logs a real run would rotate.
  diff_mode:
    support: none
    description: Rotation renames and compresses logs; RV(rotated) names them.
requirements:
  - logrotate on the host (Debian package logrotate)
options:
  config:
    description: The logrotate configuration file.
    type: path
    required: true
  state_file:
    description: The state file in which logrotate records when it last rotated each log. Without it, logrotate
      uses the system's (C(/var/lib/logrotate/status) on Debian).
    type: path
  force:
    description: Rotate every log now, whether or not it is due (C(logrotate -f)).
    type: bool
    default: false
  binary:
    description: The logrotate executable, a name on E(PATH) or a path.
    type: str
    default: logrotate
  timeout:
    description: Seconds logrotate may run (its scripts included) before it is stopped.
    type: float
    default: 300
"""

EXAMPLES = r"""
- name: Rotate the application logs now, with a private state file
  conveyor.cicd.logrotate:
    config: /var/lib/conveyor-logging/logrotate.conf
    state_file: /var/lib/conveyor-logging/logrotate.state
    force: true
  register: rotation

- name: Say what was rotated
  ansible.builtin.debug:
    msg: "{{ rotation.rotated | join(', ') or 'nothing was due' }}"
"""

RETURN = r"""
rotated:
  description: The logs that were rotated (in check mode, that a real run would rotate), in logrotate's order.
  returned: success
  type: list
  elements: str
  sample: [/var/log/sample_app/access.log]
cmd:
  description: The logrotate command that ran.
  returned: success
  type: list
  elements: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._logrotate import logrotate
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module: ConveyorModule) -> dict:
    params = module.params
    return logrotate(
        params["config"],
        state_file=params["state_file"],
        force=params["force"],
        binary=params["binary"],
        timeout=params["timeout"],
        check_mode=module.check_mode,
    )


MODULE_SPEC = dict(
    argument_spec=dict(
        config=dict(type="path", required=True),
        state_file=dict(type="path"),
        force=dict(type="bool", default=False),
        binary=dict(type="str", default="logrotate"),
        timeout=dict(type="float", default=300),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
