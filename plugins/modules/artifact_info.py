#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: artifact_info
short_description: List the releases in an artifact repository
version_added: 0.1.0
description:
  - Lists release names and their complete versions (newest first, semantic-version order) with the artifacts'
    digests, sizes and URLs and the manifest fields (git commit, source date, build and test summaries).
  - Versions whose manifest is missing (an upload in progress or interrupted) are reported apart, under RV(incomplete).
  - Over HTTP the repository must list directories (nginx C(autoindex), or the HTML browse pages of Nexus and
    Artifactory).
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.artifact_repository
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Returns no diff; the lists of files and versions in the result show what changes.
options:
  name:
    description: Only this release name.
    type: str
  version:
    description: Only this version (or V(latest), V(latest-prerelease)).
    type: str
"""

EXAMPLES = r"""
- name: What is in staging?
  conveyor.cicd.artifact_info:
    repository: file:///var/lib/conveyor/artifacts
    name: app
  register: staging

- name: Show the newest release
  ansible.builtin.debug:
    msg: "{{ staging.latest.app }}"
"""

RETURN = r"""
names:
  description: Release names found.
  returned: always
  type: list
  elements: str
releases:
  description:
    - Per name, the complete versions newest first, each with version, prerelease, git, source_date_epoch, build,
      tests, artifacts (name, format, sha256, size, url) and manifest_url.
  returned: always
  type: dict
latest:
  description: Per name, the newest complete release that is not a prerelease (null when there is none).
  returned: always
  type: dict
incomplete:
  description: Per name, versions that have files but no manifest.
  returned: always
  type: dict
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import ARTIFACT_REPOSITORY, module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import info, open_repository
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module):
    return info(open_repository(module.params), name=module.params["name"], version=module.params["version"])


MODULE_SPEC = module_spec(
    dict(name=dict(type="str"), version=dict(type="str")), ARTIFACT_REPOSITORY, supports_check_mode=True
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
