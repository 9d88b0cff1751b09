#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: artifact_fetch
short_description: Download a release's artifacts from an artifact repository, verified
version_added: 0.1.0
description:
  - Reads the release manifest, then downloads the artifacts it lists into O(dest).
  - Each file is downloaded to a temporary file in O(dest), its sha256 checked against the manifest, and only then
    renamed into place. A file whose digest does not match fails the task and leaves nothing at its name.
  - Files already in O(dest) with the right sha256 are not downloaded again.
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - conveyor.cicd.artifact_repository
attributes:
  check_mode:
    support: full
    description: Reads the manifest and local files and reports exactly which files would be downloaded.
  diff_mode:
    support: none
    description: Returns no diff; the lists of files and versions in the result show what changes.
options:
  name:
    description: Release name.
    type: str
    required: true
  version:
    description:
      - Release version, or V(latest) for the newest complete release (no prereleases), or V(latest-prerelease) for
        the newest complete version including prereleases (semantic-version order).
    type: str
    required: true
  dest:
    description: Directory to download into; created when missing.
    type: path
    required: true
  files:
    description: Only these artifact file names (default all artifacts of the release).
    type: list
    elements: str
  include_manifest:
    description: Also write the manifest C(<name>-<version>.manifest.json) into O(dest).
    type: bool
    default: true
  mode:
    description: Permissions of the downloaded files.
    type: raw
    default: '0644'
"""

EXAMPLES = r"""
- name: Fetch the release to deploy
  conveyor.cicd.artifact_fetch:
    repository: https://artifactory.example.com/artifactory/generic-releases
    token: "{{ artifactory_token }}"
    name: app
    version: 1.4.0
    dest: /srv/app/incoming

- name: Fetch the newest release from a local repository
  conveyor.cicd.artifact_fetch:
    repository: file:///var/lib/conveyor/artifacts
    name: app
    version: latest
    dest: /tmp/app
"""

RETURN = r"""
version:
  description: The version fetched (resolved when O(version=latest)).
  returned: success
  type: str
  sample: 1.4.0
downloaded:
  description: File names downloaded (in check mode, that would be downloaded).
  returned: success
  type: list
  elements: str
files:
  description: The artifacts with name, path, sha256 and size.
  returned: success
  type: list
  elements: dict
manifest:
  description: The release manifest.
  returned: success
  type: dict
manifest_path:
  description: Where the manifest was written, when O(include_manifest=true).
  returned: success
  type: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import ARTIFACT_REPOSITORY, module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import fetch, open_repository
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def file_mode(value) -> int:
    try:
        return value if isinstance(value, int) else int(str(value), 8)
    except ValueError:
        raise ConfigurationError(f"mode {value!r} is not an octal permission such as '0644'") from None


def run(module):
    params = module.params
    store = open_repository(params)
    return fetch(
        store,
        params["name"],
        params["version"],
        params["dest"],
        files=params["files"],
        write_manifest=params["include_manifest"],
        mode=file_mode(params["mode"]),
        check_mode=module.check_mode,
    )


MODULE_SPEC = module_spec(
    dict(
        name=dict(type="str", required=True),
        version=dict(type="str", required=True),
        dest=dict(type="path", required=True),
        files=dict(type="list", elements="str"),
        include_manifest=dict(type="bool", default=True),
        mode=dict(type="raw", default="0644"),
    ),
    ARTIFACT_REPOSITORY,
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
