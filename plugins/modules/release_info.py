#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_info
short_description: Show the current and the next version of a git repository
version_added: 0.1.0
description:
  - Read-only companion of M(conveyor.cicd.release) - the same computation, nothing is written.
  - Returns the current version (the latest tag matching O(tag_format)), the next version, the bump level
    and the commits (or changelog fragments) that decide it.
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.release_version
attributes:
  check_mode:
    support: full
    description: The module never changes anything, so check mode runs it unchanged.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
seealso:
  - module: conveyor.cicd.release
"""

EXAMPLES = r"""
- name: What would the next release be?
  conveyor.cicd.release_info:
    repo: "{{ app_repo }}"
  register: next_release

- name: Fail the job when a breaking change is about to be released
  ansible.builtin.assert:
    that: next_release.bump != 'major'
    fail_msg: "{{ next_release.commits | selectattr('breaking') | map(attribute='subject') | list }}"
"""

RETURN = r"""
current_version:
  description: Version of the latest matching tag in the history of HEAD, null without one.
  returned: always
  type: str
  sample: 1.2.0
current_tag:
  description: That tag.
  returned: always
  type: str
  sample: v1.2.0
next_version:
  description: The version a release would get now, null when nothing is new.
  returned: always
  type: str
  sample: 1.3.0
next_tag:
  description: The tag a release would create, null when nothing is new.
  returned: always
  type: str
release_needed:
  description: Whether anything new would be released.
  returned: always
  type: bool
bump:
  description: V(major), V(minor), V(patch) or V(none).
  returned: always
  type: str
commits:
  description: The counted conventional commits, newest first (see M(conveyor.cicd.release)).
  returned: always
  type: list
  elements: dict
fragments:
  description: File names of the changelog fragments used, for O(bump_source=fragments).
  returned: always
  type: list
  elements: str
changelog:
  description: The changelog section a release would write.
  returned: always
  type: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._release import VERSION_ARGUMENT_SPEC, release_info


def run(module):
    return release_info(module.params)


MODULE_SPEC = module_spec({}, VERSION_ARGUMENT_SPEC, supports_check_mode=True)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
