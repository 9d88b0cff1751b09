#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: tools_info
short_description: Find the executables a stage needs on a host, without running them
version_added: 0.2.0
description:
  - For each of O(names), the path of the executable, or null when it is missing. A name with C(/) must be an
    executable file; a bare name is looked up on E(PATH) (or O(path)).
  - Roles use it to skip a stage with one clear line when its tools are not installed.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
options:
  names:
    description: Executable names or paths.
    type: list
    elements: str
    required: true
  path:
    description: Search path to use instead of E(PATH) (directories separated by C(:)).
    type: str
"""

EXAMPLES = r"""
- name: Look for Terraform or OpenTofu
  conveyor.cicd.tools_info:
    names: [terraform, tofu]
  register: tools

- name: Say which one is used
  ansible.builtin.debug:
    msg: "{{ tools.tools.terraform or tools.tools.tofu or 'neither is installed' }}"
"""

RETURN = r"""
tools:
  description: Each name mapped to the executable's path, or null when it was not found.
  returned: success
  type: dict
  sample: {terraform: /usr/bin/terraform, tofu: null}
missing:
  description: The names that were not found, in the order given.
  returned: success
  type: list
  elements: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._host_files import find_tools
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module):
    return find_tools(module.params["names"], path=module.params["path"])


MODULE_SPEC = dict(
    argument_spec=dict(names=dict(type="list", elements="str", required=True), path=dict(type="str")),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
