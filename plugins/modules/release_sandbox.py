#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release_sandbox
short_description: Create a throwaway git repository to prepare releases in
version_added: 0.2.0
description:
  - Builds a git repository at O(path) for demonstrations and dry runs of M(conveyor.cicd.release), so that
    a pipeline never commits or tags in a real repository.
  - The tree of O(seed_dir) is imported as one commit (its C(.gitignore) applies; version control and tool
    directories such as C(.git), C(.venv) and caches are not copied), tagged O(seed_tag), and followed by the conventional commits of O(history), each changing
    one file under C(history/).
  - The repository is assembled under C(<path>.partial) and renamed into place only when complete; a
    leftover C(.partial) of an interrupted run is removed first.
  - A repository already at O(path) is left alone, so a second run changes nothing.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Reports whether the repository would be created, and writes nothing.
  diff_mode:
    support: none
    description: There is no diff of a new repository.
options:
  path:
    description: Where the repository is created. It must not exist, be an empty directory, or already be a git work tree.
    type: path
    required: true
  seed_dir:
    description: Directory whose tree is imported; empty for a repository with a README only.
    type: path
    default: ""
  seed_tag:
    description: Annotated tag of the imported tree; empty for no tag.
    type: str
    default: v0.1.0
  import_message:
    description: Commit message of the imported tree.
    type: str
    default: "feat: import the sample application"
  history:
    description: One-line commit messages added after the import, oldest first.
    type: list
    elements: str
    default: []
  author_name:
    description: Author and committer name of the commits.
    type: str
    default: conveyor.cicd
  author_email:
    description: Author and committer e-mail of the commits.
    type: str
    default: release@conveyor.invalid
seealso:
  - module: conveyor.cicd.release
"""

EXAMPLES = r"""
- name: A sandbox seeded with the application, then a release prepared in it
  conveyor.cicd.release_sandbox:
    path: "{{ state_dir }}/release/app"
    seed_dir: "{{ app_dir }}"
    history:
      - "feat(api): report the build commit on /version"
      - "fix: answer 404 instead of 500 for an unknown item"
"""

RETURN = r"""
path:
  description: Absolute path of the repository.
  returned: always
  type: str
head:
  description: Sha of HEAD; null in check mode when the repository would be created.
  returned: always
  type: str
tags:
  description: The repository's tags (after a build, the seed tag only).
  returned: always
  type: list
  elements: str
commits:
  description: Number of commits on HEAD.
  returned: always
  type: int
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._sandbox import build_sandbox


def run(module):
    return build_sandbox(module.params, check_mode=module.check_mode)


MODULE_SPEC = dict(
    argument_spec=dict(
        path=dict(type="path", required=True),
        seed_dir=dict(type="path", default=""),
        seed_tag=dict(type="str", default="v0.1.0"),
        import_message=dict(type="str", default="feat: import the sample application"),
        history=dict(type="list", elements="str", default=[]),
        author_name=dict(type="str", default="conveyor.cicd"),
        author_email=dict(type="str", default="release@conveyor.invalid"),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
