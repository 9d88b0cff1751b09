#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: files
short_description: Directories and whole files on a host in one task, each file validated and renamed into place
version_added: 0.2.0
description:
  - Creates the O(directories) (or corrects their mode and owner), then makes each of the O(files) hold exactly its
    O(files[].content), in the order given. One task does what a role would otherwise do with several
    M(ansible.builtin.file), M(ansible.builtin.template) and M(ansible.builtin.copy) tasks.
  - A file whose content differs is written to a temporary file in its directory, checked with
    O(files[].validate) when given, and renamed over the old one, so readers never see a partial or an
    invalid file. A file that fails validation is left as it was and the task fails with the validator's last line.
  - Render templates on the controller with the C(ansible.builtin.template) lookup and pass the text as content.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Compares every path with what it should be and reports exactly what a real run would change;
      validation runs on a copy outside the destination.
  diff_mode:
    support: full
    description: Shows the old and new text of every file whose content changes (up to 256 KiB each).
options:
  directories:
    description: Directories to create or correct, in order (parents are created as needed).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      mode:
        description: Octal permissions such as V('0755'); default leaves the mode of an existing directory alone.
        type: raw
      owner:
        description: User name or uid; default unchanged.
        type: str
      group:
        description: Group name or gid; default unchanged.
        type: str
  files:
    description: Files with their whole content, written after the directories.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file; missing parent directories are created.
        type: path
        required: true
      content:
        description: The complete text of the file (UTF-8).
        type: str
        required: true
      mode:
        description: Octal permissions; default keeps the mode of an existing file and uses V('0644') for a new one.
        type: raw
      owner:
        description: User name or uid; default unchanged.
        type: str
      group:
        description: Group name or gid; default unchanged.
        type: str
      validate:
        description:
          - Command (argv list) that checks the new file before it replaces the old one; C(%s) stands for the
            temporary file. A non-zero exit fails the task and leaves the old file in place.
        type: list
        elements: str
seealso:
  - module: conveyor.cicd.tools_info
"""

EXAMPLES = r"""
- name: Write the Prometheus configuration and its rules, validated
  conveyor.cicd.files:
    directories:
      - path: /srv/monitoring/config
        mode: "0755"
    files:
      - path: /srv/monitoring/config/prometheus.yml
        content: "{{ lookup('ansible.builtin.template', 'prometheus.yml.j2') }}"
        validate: [promtool, check, config, "%s"]
      - path: /srv/monitoring/config/rules.yml
        content: "{{ lookup('ansible.builtin.template', 'rules.yml.j2') }}"
        validate: [promtool, check, rules, "%s"]
  register: monitoring_files

- name: Reload when the configuration changed
  ansible.builtin.debug:
    msg: "changed: {{ monitoring_files.changed_paths }}"
  when: monitoring_files.changed
"""

RETURN = r"""
changed_paths:
  description: Paths that were (or in check mode would be) created or changed, in order.
  returned: success
  type: list
  elements: str
directories:
  description: One entry per directory with C(path), C(changed) and C(changes) (C(created), C(mode), C(owner)).
  returned: success
  type: list
  elements: dict
files:
  description: One entry per file with C(path), C(changed) and C(changes) (C(created), C(content), C(mode), C(owner)).
  returned: success
  type: list
  elements: dict
validate_output:
  description: The last lines the validator printed, when a file failed validation.
  returned: failure
  type: list
  elements: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._host_files import apply_files
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule

_OWNERSHIP = dict(mode=dict(type="raw"), owner=dict(type="str"), group=dict(type="str"))


def run(module):
    return apply_files(
        module.params["directories"], module.params["files"], check_mode=module.check_mode, want_diff=module._diff
    )


MODULE_SPEC = dict(
    argument_spec=dict(
        directories=dict(
            type="list", elements="dict", default=[], options=dict(path=dict(type="path", required=True), **_OWNERSHIP)
        ),
        files=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                validate=dict(type="list", elements="str"),
                **_OWNERSHIP,
            ),
        ),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
