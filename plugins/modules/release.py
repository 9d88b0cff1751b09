#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: release
short_description: Prepare a release in a git repository from conventional commits or changelog fragments
version_added: 0.1.0
description:
  - Computes the next semantic version from the conventional commits since the last tag that matches
    O(tag_format) (C(feat) is minor; C(fix) and C(perf) are patch; C(!) or a C(BREAKING CHANGE:) footer is
    major), or from antsibull-changelog fragments with O(bump_source=fragments).
  - Updates the O(version_files), writes a Keep a Changelog section at the top of O(changelog_file), commits
    those files with O(commit_message), creates an annotated tag and, with O(push=true), pushes the branch and
    the tag to O(push_remote).
  - When nothing new has been committed since the last tag it changes nothing and returns the current version.
  - Merge commits are skipped and the commits they bring in are counted. A revert cancels the reverted commit
    when both are new; a revert of an already released commit is a patch change.
  - All git commands run as argument lists. See the collection's docs/release.md for every rule.
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.release_version
attributes:
  check_mode:
    support: full
    description: Returns the exact version, tag and changelog section and writes nothing.
  diff_mode:
    support: full
    description: Shows the new contents of the version files and the changelog.
options:
  version_files:
    description:
      - Files whose version is set to the new version. The kind is taken from the file name (C(galaxy.yml),
        C(pyproject.toml) C([project]) or C([tool.poetry]), C(Cargo.toml), C(package.json), C(*.py) with
        C(__version__ = "...")), or give a dictionary with these keys.
    type: list
    elements: raw
    default: []
    suboptions:
      path:
        description: The file, relative to the project (O(path), else the repository).
        type: str
        required: true
      pattern:
        description: A regular expression with a group C((?P<version>...)) around the version.
        type: str
      kind:
        description: The kind of file, when its name does not tell; instead of O(version_files[].pattern).
        type: str
        choices: [galaxy, pyproject, cargo, package_json, python]
  changelog_file:
    description: Markdown changelog that receives the new section. An empty string writes no changelog.
    type: str
    default: CHANGELOG.md
  tag_message:
    description: Message of the annotated tag; C({version}) and C({tag}) are replaced.
    type: str
    default: Release {version}
  author_name:
    description: Author and committer name of the release commit and tag. Default is git's configuration.
    type: str
  author_email:
    description: Author and committer email of the release commit and tag. Default is git's configuration.
    type: str
  allow_dirty:
    description: Allow uncommitted changes to tracked files. Only the version files and the changelog are committed.
    type: bool
    default: false
  push:
    description:
      - Push the branch and the tag to O(push_remote) atomically. When nothing is new but the latest tag is missing
        on the remote (an earlier push failed), it is pushed now.
    type: bool
    default: false
  push_remote:
    description:
      - Remote to push to, a remote name or a URL.
      - An http(s) URL may carry C(user:token@) (or C(token@)); the credentials reach git through its
        environment, for that host only, never on a command line, and are masked in every message.
    type: str
    default: origin
notes:
  - The release date in the changelog is today (UTC), or the day of E(SOURCE_DATE_EPOCH) when it is set.
seealso:
  - module: conveyor.cicd.release_info
"""

EXAMPLES = r"""
- name: Prepare the next release of the application
  conveyor.cicd.release:
    repo: "{{ app_repo }}"
    version_files: [pyproject.toml, src/app/__init__.py]
    author_name: Release Bot
    author_email: release@example.com
  register: release

- name: Release candidate of one project of a monorepo, pushed to origin
  conveyor.cicd.release:
    repo: /srv/monorepo
    path: services/api
    tag_format: api-v{version}
    prerelease: rc
    push: true

- name: A collection release driven by changelog fragments
  conveyor.cicd.release:
    repo: "{{ collection_dir }}"
    bump_source: fragments
    version_files: [galaxy.yml]
    changelog_file: ""
"""

RETURN = r"""
version:
  description: The new version, or the current one when nothing is new (null without any tag).
  returned: always
  type: str
  sample: 1.3.0-rc.1
previous_version:
  description: Version of the latest matching tag before this run, null without one.
  returned: always
  type: str
  sample: 1.2.0
tag:
  description: The tag of RV(version).
  returned: always
  type: str
  sample: v1.3.0-rc.1
bump:
  description: V(major), V(minor), V(patch) or V(none) (nothing new). While the major version is 0 a breaking change shows as V(minor).
  returned: always
  type: str
commits:
  description: The counted conventional commits, newest first, with C(sha), C(short), C(type), C(scope), C(description), C(breaking), C(bump), C(subject).
  returned: always
  type: list
  elements: dict
fragments:
  description: File names of the changelog fragments used, for O(bump_source=fragments).
  returned: always
  type: list
  elements: str
changelog:
  description: The changelog section (markdown), empty when nothing is new.
  returned: always
  type: str
commit:
  description: Sha of the release commit (of the tagged commit when nothing is new); null in check mode.
  returned: always
  type: str
files:
  description: Files changed by the release, relative to the repository top level.
  returned: always
  type: list
  elements: str
pushed:
  description: Whether the branch and tag were (or in check mode would be) pushed.
  returned: always
  type: bool
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._release import (
    VERSION_ARGUMENT_SPEC,
    VERSION_KINDS,
    prepare_release,
)


def run(module):
    return prepare_release(module.params, check_mode=module.check_mode, want_diff=module._diff)


MODULE_SPEC = module_spec(
    dict(
        # a file name or {path, pattern} / {path, kind}
        version_files=dict(
            type="list",
            elements="raw",
            default=[],
            options=dict(
                path=dict(type="str", required=True),
                pattern=dict(type="str"),
                kind=dict(type="str", choices=list(VERSION_KINDS)),
            ),
        ),
        changelog_file=dict(type="str", default="CHANGELOG.md"),
        tag_message=dict(type="str", default="Release {version}"),
        author_name=dict(type="str"),
        author_email=dict(type="str"),
        allow_dirty=dict(type="bool", default=False),
        push=dict(type="bool", default=False),
        push_remote=dict(type="str", default="origin"),
    ),
    VERSION_ARGUMENT_SPEC,
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
