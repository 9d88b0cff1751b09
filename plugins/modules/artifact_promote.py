#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: artifact_promote
short_description: Copy a release from one artifact repository to another without rebuilding
version_added: 0.1.0
description:
  - Copies a complete version (artifacts, then the manifest last) from O(repository) (for example staging) to
    O(dest_repository) (for example release).
  - Between two S3 locations on the same endpoint with the same credentials the copy happens inside the server
    (CopyObject); otherwise each file is streamed through a temporary file, verified on the way.
  - Every copied file's size and sha256 are checked against the manifest.
  - Promoting a version that is already in O(dest_repository) with the same content changes nothing; other content
    under the same version fails (versions are immutable).
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.artifact_repository
  - conveyor.cicd.artifact_repository.dest_options
attributes:
  check_mode:
    support: full
    description: Reports exactly which files would be copied.
  diff_mode:
    support: full
    description: Shows the files of the version in O(dest_repository) before and after the run (in check mode, as
      the run would leave them); each artifact and the manifest as C(absent) or its sha256 and size.
options:
  name:
    description: Release name.
    type: str
    required: true
  version:
    description: Version to promote, or V(latest) / V(latest-prerelease) (resolved in the source repository).
    type: str
    required: true
  dest_repository:
    description: The repository to promote into (same URL schemes as O(repository)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Promote the tested release from staging to release
  conveyor.cicd.artifact_promote:
    repository: s3://artifacts/staging
    dest_repository: s3://artifacts/release
    endpoint_url: https://s3.example.com
    access_key: "{{ s3_access_key }}"
    secret_key: "{{ s3_secret_key }}"
    name: app
    version: 1.4.0

- name: Promote from a local staging directory to Artifactory
  conveyor.cicd.artifact_promote:
    repository: file:///var/lib/conveyor/artifacts
    dest_repository: https://artifactory.example.com/artifactory/generic-releases
    dest_options:
      token: "{{ artifactory_token }}"
    name: app
    version: latest
"""

RETURN = r"""
diff:
  description:
    - With C(--diff), when something changes, the version's files in O(dest_repository) before and after the run,
      one line each, under the headers C(<version URL> (before)) and C(<version URL> (after)).
  returned: changed, in diff mode
  type: dict
  sample:
    before_header: s3://releases/app/1.4.0 (before)
    after_header: s3://releases/app/1.4.0 (after)
    before: "app-1.4.0.tar.gz: absent\napp-1.4.0.manifest.json: absent\n"
    after: "app-1.4.0.tar.gz: sha256 9f86d081884c7d65..., 5120 bytes\napp-1.4.0.manifest.json: sha256 2c26b46b68ffc68f..., 812 bytes\n"
version:
  description: The version promoted.
  returned: success
  type: str
copied:
  description: File names copied (in check mode, that would be copied).
  returned: success
  type: list
  elements: str
cleaned:
  description:
    - What interrupted runs had left under the version in O(dest_repository) and was removed (in check mode, would be removed) because it was older
      than O(stale_age), such as temporary files, unfinished S3 multipart uploads (listed by key, with
      C(unfinished multipart upload) after it) and locks.
  returned: success
  type: list
  elements: str
server_side:
  description: File names copied inside the server, without passing through the host.
  returned: success
  type: list
  elements: str
artifacts:
  description: The artifacts in the destination, with name, format, sha256, size and url.
  returned: success
  type: list
  elements: dict
manifest_url:
  description: Where the manifest is stored in the destination.
  returned: success
  type: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import (
    ARTIFACT_REPOSITORY,
    REPOSITORY_CREDENTIALS,
    module_spec,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import open_repository, promote
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module):
    params = module.params
    dest_params = dict(params, repository=params["dest_repository"])
    for key, value in (params["dest_options"] or {}).items():
        if value is not None:
            dest_params[key] = value
    return promote(
        open_repository(params),
        open_repository(dest_params, what="dest_repository"),
        params["name"],
        params["version"],
        check_mode=module.check_mode,
        want_diff=module._diff,
    )


MODULE_SPEC = module_spec(
    dict(
        name=dict(type="str", required=True),
        version=dict(type="str", required=True),
        dest_repository=dict(type="str", required=True),
        # the destination's credentials: the same options as the source's, under dest_options
        dest_options=dict(type="dict", options=REPOSITORY_CREDENTIALS),
    ),
    ARTIFACT_REPOSITORY,
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
