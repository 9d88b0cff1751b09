# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs shared by several modules, and the one check ansible-core leaves to us.

Each block is written once here and documented once in a doc fragment (plugins/doc_fragments/):

- ``REPOSITORY_CONNECTION``: how to reach one artifact repository (``artifact_repository`` fragment);
  top-level options of the artifact_* modules, ``app_rollout``'s ``repository_options``;
- ``REPOSITORY_CREDENTIALS``: the part of it that ``artifact_promote``'s ``dest_options`` may override;
- ``ARTIFACT_REPOSITORY``: ``repository`` plus ``REPOSITORY_CONNECTION``;
- ``HEALTH_OPTIONS``: one health check (``_health``): ``app_rollout``'s ``health``, and with the defaults
  of ``_health.DEFAULTS`` the top-level options of ``health_check``.

``module_spec`` merges blocks into a module's ``MODULE_SPEC``, as amazon.aws's AnsibleAWSModule merges
its common spec, and refuses a module option that would silently replace a common one.

Some list options take either a short form or a mapping per element (a build step is an argv list or
``{name, argv}``). ansible-core applies ``options`` only to ``elements: dict``, so those options are
``elements: raw`` with ``options`` for their mapping form, and ``validate_element_options`` checks the
mapping elements against them, with the messages ansible-core gives for any other sub-option.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

HEALTH_OPTIONS = dict(
    url=dict(type="str"),
    status_codes=dict(type="list", elements="int"),
    body_contains=dict(type="str"),
    json_field=dict(type="str"),
    json_value=dict(type="raw"),
    timeout=dict(type="float"),
    retries=dict(type="int"),
    delay=dict(type="float"),
    successes=dict(type="int"),
    validate_certs=dict(type="bool"),
    ca_path=dict(type="path"),
    command=dict(type="raw"),
    command_timeout=dict(type="float"),
)

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
# the artifact_* modules also clean what killed runs left behind (app_rollout only reads, so has no stale_age)
ARTIFACT_REPOSITORY = dict(
    repository=dict(type="str", required=True), stale_age=dict(type="int", default=3600), **REPOSITORY_CONNECTION
)


def module_spec(argument_spec: dict, *common: dict, **keywords) -> dict:
    """A ``MODULE_SPEC``: the ``common`` blocks, then the module's own options, then the AnsibleModule keywords."""
    merged: dict = {}
    for block in (*common, argument_spec):
        clash = sorted(set(merged) & set(block))
        if clash:
            raise ValueError(f"option {clash[0]!r} is declared twice")
        merged.update(block)
    return dict(keywords, argument_spec=merged)


def _mixed_options(argument_spec: dict) -> dict:
    return {
        name: option
        for name, option in argument_spec.items()
        if option.get("type") == "list" and option.get("elements") == "raw" and option.get("options")
    }


def validate_element_options(argument_spec: dict, params: dict):
    """Check the mapping elements of every ``elements: raw`` list option with ``options``.

    Each mapping element is replaced by its validated form (values coerced to their documented types)
    holding only the keys it was given, so the engine sees what it always saw. Returns the validator's
    result (``error_messages`` empty when all is well)."""
    mixed = _mixed_options(argument_spec)
    # the mapping elements, validated as the elements of a list of dicts would be
    spec = {name: dict(type="list", elements="dict", options=option["options"]) for name, option in mixed.items()}
    given = {
        name: [item for item in params[name] if isinstance(item, Mapping)]
        for name in mixed
        if isinstance(params.get(name), list)
    }
    result = ArgumentSpecValidator(spec).validate(given)
    if not result.error_messages:
        for name in given:
            checked = iter(result.validated_parameters[name])
            params[name] = [
                _given_keys(next(checked), item) if isinstance(item, Mapping) else item for item in params[name]
            ]
    return result


def _given_keys(validated: dict, given: Mapping) -> dict:
    return {key: value for key, value in validated.items() if key in given}


def validation_message(result, module_name: str) -> str:
    """The one-line message a module process gives for ``result``'s errors."""
    msg = result.errors.msg
    if isinstance(result.errors[0], UnsupportedError):
        msg = f"Unsupported parameters for ({module_name}) module: {msg}"
    return msg
