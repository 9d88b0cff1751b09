# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: release_record
short_description: The release manifest that later pipeline stages deploy, migrate, monitor and report on
version_added: 0.2.0
author: conveyor.cicd maintainers (@conveyor-cicd)
description:
  - Returns the release manifest (name, version, git commit and commit time, artifacts with sha256 and size)
    that the stages after publishing work on, as one mapping.
  - O(release) wins when it is given - the C(conveyor_release) extra var, as AWX workflow nodes receive it from
    the publish job's C(set_stats) - either that export (the manifest is its C(manifest) key) or a bare manifest.
  - Otherwise the file the publish stage writes on the controller (C(<conveyor_state_dir>/release/current.manifest.json))
    is read. A missing file, or an empty file name, gives an empty mapping, so a stage can say which stage to run first.
  - A file that is not a JSON object fails with one line naming the file.
options:
  _terms:
    description: Path of the release record on the controller; an empty string reads no file.
    type: list
    elements: str
    required: true
  release:
    description: The release given directly (the C(conveyor_release) variable); null or omitted reads the file.
    type: raw
"""

EXAMPLES = r"""
- name: Show the release the publish stage recorded
  ansible.builtin.debug:
    msg: "{{ lookup('conveyor.cicd.release_record', conveyor_state_dir ~ '/release/current.manifest.json') }}"

- name: The same, but an AWX workflow's conveyor_release wins
  ansible.builtin.set_fact:
    release: >-
      {{ lookup('conveyor.cicd.release_record', release_file, release=conveyor_release | default(None)) }}
"""

RETURN = r"""
_raw:
  description: The release manifest, or an empty mapping when there is none.
  type: list
  elements: dict
"""

import json
import os
from collections.abc import Mapping

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def select_release(given, path: str | None) -> dict:
    """The manifest ``given`` carries (its ``manifest`` key, or itself), else the one in the file at ``path``."""
    if given is not None:
        if not isinstance(given, Mapping):
            raise AnsibleLookupError(
                f"conveyor_release must be a mapping (the release manifest, or the publish job's export), got {type(given).__name__}"
            )
        inner = given.get("manifest", given)
        return dict(inner) if isinstance(inner, Mapping) else {}
    if not path:
        return {}
    path = os.path.expanduser(path)
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise AnsibleLookupError(
            f"release record {path} is not readable JSON ({exc}); run the publish stage again"
        ) from None
    if not isinstance(data, dict):
        raise AnsibleLookupError(f"release record {path} must hold a JSON object (a release manifest)")
    return data


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        given = self.get_option("release")
        return [select_release(given, str(term) if term else "") for term in terms]
