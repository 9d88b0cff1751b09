#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: wheelhouse
short_description: Collect a Python application's wheel and a wheel of every dependency in one directory
version_added: 0.2.0
description:
  - Runs C(python -m pip wheel --wheel-dir <dest> <src> [-r <requirements>]...) as an argument list, so that
    O(dest) holds the application's wheel plus a wheel of every dependency. Packaged with the release, it lets
    M(conveyor.cicd.app_rollout) (option O(conveyor.cicd.app_rollout#module:python_env)) build the application's
    environment on each host with no package index.
  - This step needs the package index (pip's usual configuration, C(PIP_INDEX_URL), C(pip.conf)) or local
    directories of wheels in O(find_links); the rollout on the hosts needs neither.
  - The wheels are collected in a temporary directory beside O(dest) and renamed into place, with a record
    C(.wheelhouse.json) (the key of the inputs, every wheel with sha256 and size). A run whose inputs (the digest of
    O(src), of each O(requirements) file, what local O(find_links) directories offer, the options and the
    interpreter) match the record, and whose wheels are all there unchanged, changes nothing.
  - Pin the dependencies in a lock file given in O(requirements) (made by C(pip freeze), C(pip-compile) or
    C(uv export)), since unpinned requirements may resolve to newer versions on the index without any input changing.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Reports whether the wheelhouse would be built (its inputs changed, or a wheel is missing or
      altered); runs nothing.
  diff_mode:
    support: none
    description: The result lists every wheel with its sha256 and size; there is no before/after text to show.
options:
  dest:
    description: The wheelhouse directory (absolute), replaced whole when it is built.
    type: path
    required: true
  src:
    description:
      - The application's built wheel (or sdist), or its project directory (with C(pyproject.toml), C(setup.py) or
        C(setup.cfg)), absolute. A project directory's digest covers its files except C(.git), virtual
        environments, C(build/), C(dist/) and caches.
    type: path
    required: true
  requirements:
    description: Requirements or lock files (absolute) whose requirements are collected too, each passed as C(-r).
    type: list
    elements: path
    default: []
  find_links:
    description: Directories or URLs of wheels pip may take packages from (C(--find-links)), besides the index.
    type: list
    elements: str
    default: []
  no_index:
    description: Use only O(find_links), never a package index (C(--no-index)).
    type: bool
    default: false
  build_isolation:
    description:
      - Build a project directory or an sdist in an isolated environment (pip's default), which fetches the build
        backend from the index. V(false) builds with what O(python) has installed (C(--no-build-isolation)).
    type: bool
    default: true
  python:
    description: The interpreter whose pip runs (a path or a name on PATH). Default the one running the module.
    type: str
  timeout:
    description: Seconds pip may run before it is killed.
    type: float
notes:
  - A failing pip gives its error line, for example C(pip wheel failed with exit code 1... No matching distribution
    found for ...), with its last output lines in C(log_tail).
"""

EXAMPLES = r"""
- name: The app's wheel and its locked dependencies, for the artifact
  conveyor.cicd.wheelhouse:
    dest: /builds/app/package/wheelhouse
    src: /builds/app/dist/app-1.4.0-py3-none-any.whl
    requirements: [/builds/app/requirements.lock]

- name: From the project directory, with dependencies from a local directory only
  conveyor.cicd.wheelhouse:
    dest: /builds/app/package/wheelhouse
    src: /builds/app
    find_links: [/srv/wheels]
    no_index: true
    build_isolation: false
"""

RETURN = r"""
dest:
  description: The wheelhouse directory.
  returned: always
  type: str
cache_key:
  description: The key of the inputs, recorded in C(<dest>/.wheelhouse.json).
  returned: always
  type: str
wheels:
  description: Every wheel in the wheelhouse with name, sha256 and size (empty in check mode when it would be built).
  returned: always
  type: list
  elements: dict
  sample: [{name: app-1.4.0-py3-none-any.whl, sha256: 3f2a..., size: 20480}]
duration:
  description: Seconds the run took.
  returned: always
  type: float
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._wheelhouse import build_wheelhouse


def run(module):
    return build_wheelhouse(check_mode=module.check_mode, **module.params)


MODULE_SPEC = dict(
    argument_spec=dict(
        dest=dict(type="path", required=True),
        src=dict(type="path", required=True),
        requirements=dict(type="list", elements="path", default=[]),
        find_links=dict(type="list", elements="str", default=[]),
        no_index=dict(type="bool", default=False),
        build_isolation=dict(type="bool", default=True),
        python=dict(type="str"),
        timeout=dict(type="float"),
    ),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
