#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: artifact_prune
short_description: Delete old releases from an artifact repository, keeping the newest
version_added: 0.1.0
description:
  - Per release name, keeps the newest O(keep) complete versions in semantic-version order and deletes the others.
  - Versions listed in O(protect) (such as the one deployed now) are never deleted.
  - A version's manifest is deleted first, so it disappears at once; then its files.
  - Versions that are not semantic versions, and incomplete versions (no manifest, perhaps an upload in progress),
    are never deleted; they are reported in RV(unsorted) and RV(incomplete).
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.artifact_repository
attributes:
  check_mode:
    support: full
    description: Lists exactly the versions that would be deleted, and deletes nothing.
  diff_mode:
    support: full
    description: Shows the complete versions (C(<name> <version>)) before and after the run (in check mode, as the
      run would leave them), and the leftovers of interrupted runs it removes.
options:
  name:
    description: Only this release name (default every name in the repository).
    type: str
  keep:
    description:
      - How many of the newest versions to keep per name.
      - Without O(keep_prereleases), releases and prereleases are ranked together.
    type: int
    required: true
  keep_prereleases:
    description:
      - Rank prereleases separately and keep this many of them; O(keep) then counts releases only.
    type: int
  protect:
    description:
      - Versions never to delete, as V(1.4.0) (for every name) or V(app@1.4.0) (for one name).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Keep the five newest releases and two release candidates; never the deployed one
  conveyor.cicd.artifact_prune:
    repository: s3://artifacts/staging
    name: app
    keep: 5
    keep_prereleases: 2
    protect:
      - "{{ deployed_version }}"
"""

RETURN = r"""
diff:
  description:
    - With C(--diff), when something changes, the complete versions before and after the run, one C(<name> <version>)
      per line, under the headers C(<repository> (before)) and C(<repository> (after)).
  returned: changed, in diff mode
  type: dict
  sample:
    before_header: s3://artifacts/staging (before)
    after_header: s3://artifacts/staging (after)
    before: "app 1.2.0\napp 1.1.0\napp 1.0.0\n"
    after: "app 1.2.0\napp 1.1.0\n"
deleted:
  description: Versions deleted (in check mode, that would be deleted), each with name and version.
  returned: success
  type: list
  elements: dict
cleaned:
  description:
    - What interrupted runs had left under O(name) (or the whole repository) and was removed (in check mode, would be removed) because it was older
      than O(stale_age), such as temporary files, unfinished S3 multipart uploads (listed by key, with
      C(unfinished multipart upload) after it) and locks.
  returned: success
  type: list
  elements: str
kept:
  description: Versions kept, each with name and version.
  returned: success
  type: list
  elements: dict
unsorted:
  description: Complete versions that are not semantic versions (never deleted).
  returned: success
  type: list
  elements: dict
incomplete:
  description: Versions without a manifest (never deleted).
  returned: success
  type: list
  elements: dict
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import ARTIFACT_REPOSITORY, module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import open_repository, prune
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module):
    params = module.params
    return prune(
        open_repository(params),
        keep=params["keep"],
        name=params["name"],
        keep_prereleases=params["keep_prereleases"],
        protect=params["protect"],
        check_mode=module.check_mode,
        want_diff=module._diff,
    )


MODULE_SPEC = module_spec(
    dict(
        name=dict(type="str"),
        keep=dict(type="int", required=True),
        keep_prereleases=dict(type="int"),
        protect=dict(type="list", elements="str", default=[]),
    ),
    ARTIFACT_REPOSITORY,
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
