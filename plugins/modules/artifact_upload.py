#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: artifact_upload
short_description: Publish a release's artifacts and manifest to an artifact repository
version_added: 0.1.0
description:
  - Uploads the files of one release to O(repository) under C(<name>/<version>/<file>), then the release manifest
    C(<name>-<version>.manifest.json) last, so the version becomes visible only once it is complete.
  - Every file is streamed (never read whole into memory), hashed with sha256 while streaming and checked after
    upload; each object gets a C(<file>.sha256) sidecar.
  - Versions are immutable. Uploading the same release again changes nothing. A different release under an existing
    version fails, unless O(force=true) and the version is a prerelease.
  - Two releases are the same when name, version, git commit and every artifact's name, sha256 and size agree; the
    first published manifest is kept (build and test summaries of a rebuild may differ).
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.artifact_repository
attributes:
  check_mode:
    support: full
    description: Reads the repository and reports exactly which files would be uploaded.
  diff_mode:
    support: full
    description: Shows the files of the version in the repository before and after the run (in check mode, as the
      run would leave them); each artifact and the manifest as C(absent) or its sha256 and size, and the leftovers
      the run removes.
options:
  manifest:
    description:
      - Path of a release manifest written by M(conveyor.cicd.package). The manifest and every artifact it lists
        (from the manifest's directory) are uploaded; each file's sha256 and size are checked against the manifest
        first.
      - Mutually exclusive with O(files).
    type: path
  name:
    description:
      - Release name. Required with O(files); with O(manifest) it must match the manifest when given.
    type: str
  version:
    description:
      - Release version (a semantic version such as V(1.4.0) or V(1.5.0-rc.1)). Required with O(files).
    type: str
  files:
    description:
      - Files to publish as one release when there is no manifest; a manifest listing them is generated.
    type: list
    elements: path
  force:
    description:
      - Replace an existing prerelease whose content differs. Released versions can never be replaced.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Publish the package to the staging repository
  conveyor.cicd.artifact_upload:
    repository: s3://artifacts/staging
    endpoint_url: https://s3.example.com
    access_key: "{{ s3_access_key }}"
    secret_key: "{{ s3_secret_key }}"
    manifest: dist/app-1.4.0.manifest.json

- name: Publish two files to a Nexus raw repository
  conveyor.cicd.artifact_upload:
    repository: https://nexus.example.com/repository/raw-releases
    username: deployer
    password: "{{ nexus_password }}"
    name: app
    version: 1.4.0
    files:
      - dist/app-1.4.0.tar.gz
      - dist/app-1.4.0-py3-none-any.whl
"""

RETURN = r"""
diff:
  description:
    - With C(--diff), when something changes, the version's files before and after the run, one line each, under
      the headers C(<version URL> (before)) and C(<version URL> (after)).
  returned: changed, in diff mode
  type: dict
  sample:
    before_header: https://nexus.example.com/repository/raw-releases/app/1.4.0 (before)
    after_header: https://nexus.example.com/repository/raw-releases/app/1.4.0 (after)
    before: "app-1.4.0.tar.gz: absent\napp-1.4.0.manifest.json: absent\n"
    after: "app-1.4.0.tar.gz: sha256 9f86d081884c7d65..., 5120 bytes\napp-1.4.0.manifest.json: sha256 2c26b46b68ffc68f..., 812 bytes\n"
name:
  description: Release name.
  returned: success
  type: str
  sample: app
version:
  description: Release version.
  returned: success
  type: str
  sample: 1.4.0
repository:
  description: The repository URL (without credentials).
  returned: success
  type: str
uploaded:
  description: File names uploaded (in check mode, that would be uploaded). Empty when the release was already there.
  returned: success
  type: list
  elements: str
cleaned:
  description:
    - What interrupted runs had left under the version and was removed (in check mode, would be removed) because it was older
      than O(stale_age), such as temporary files, unfinished S3 multipart uploads (listed by key, with
      C(unfinished multipart upload) after it) and locks.
  returned: success
  type: list
  elements: str
replaced:
  description: Whether an existing prerelease with other content was replaced (O(force=true)).
  returned: success
  type: bool
artifacts:
  description: The release's artifacts with name, format, sha256, size and url.
  returned: success
  type: list
  elements: dict
manifest:
  description: The release manifest as stored in the repository.
  returned: success
  type: dict
manifest_url:
  description: Where the manifest is stored.
  returned: success
  type: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import ARTIFACT_REPOSITORY, module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import open_repository, upload
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module):
    params = module.params
    store = open_repository(params)
    return upload(
        store,
        manifest=params["manifest"],
        name=params["name"],
        version=params["version"],
        files=params["files"],
        force=params["force"],
        check_mode=module.check_mode,
        want_diff=module._diff,
    )


MODULE_SPEC = module_spec(
    dict(
        manifest=dict(type="path"),
        name=dict(type="str"),
        version=dict(type="str"),
        files=dict(type="list", elements="path"),
        force=dict(type="bool", default=False),
    ),
    ARTIFACT_REPOSITORY,
    mutually_exclusive=[("manifest", "files")],
    required_one_of=[("manifest", "files")],
    required_by={"files": ("name", "version")},
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
