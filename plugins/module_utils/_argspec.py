# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by several modules.

Each block is written once here and documented once in a doc fragment (plugins/doc_fragments/):

- ``REPOSITORY_CONNECTION``: how to reach one artifact repository (``artifact_repository`` fragment);
  top-level options of the artifact_* modules, ``app_rollout``'s ``repository_options``;
- ``REPOSITORY_CREDENTIALS``: the part of it that ``artifact_promote``'s ``dest_options`` may override;
- ``ARTIFACT_REPOSITORY``: ``repository`` plus ``REPOSITORY_CONNECTION``.

``module_spec`` merges blocks into a module's ``MODULE_SPEC``, as amazon.aws's AnsibleAWSModule merges
its common spec, and refuses a module option that would silently replace a common one.
"""

from __future__ import annotations

REPOSITORY_CREDENTIALS = dict(
    endpoint_url=dict(type="str"),
    region=dict(type="str"),
    access_key=dict(type="str", no_log=False),
    secret_key=dict(type="str", no_log=True),
    session_token=dict(type="str", no_log=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    token=dict(type="str", no_log=True),
)
REPOSITORY_CONNECTION = dict(
    REPOSITORY_CREDENTIALS,
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="int", default=60),
    retries=dict(type="int", default=3),
)
ARTIFACT_REPOSITORY = dict(repository=dict(type="str", required=True), **REPOSITORY_CONNECTION)


def module_spec(argument_spec: dict, *common: dict, **keywords) -> dict:
    """A ``MODULE_SPEC``: the ``common`` blocks, then the module's own options, then the AnsibleModule keywords."""
    merged: dict = {}
    for block in (*common, argument_spec):
        clash = sorted(set(merged) & set(block))
        if clash:
            raise ValueError(f"option {clash[0]!r} is declared twice")
        merged.update(block)
    return dict(keywords, argument_spec=merged)
