#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: health_check
short_description: Probe an HTTP endpoint (and optionally a command) until it is healthy, or for a number of passes
version_added: 0.2.0
description:
  - Probes O(url) and/or runs O(command) until O(successes) consecutive attempts pass, with O(delay) seconds
    between attempts; O(retries) failing attempts after the first make it unhealthy.
  - An attempt passes when the HTTP status is one of O(status_codes), the body contains O(body_contains), the JSON
    field O(json_field) has the value O(json_value), and O(command) exits with 0 (each only when given).
    Redirects are answers to judge, not followed; proxies from the environment are not used.
  - The same check as the O(conveyor.cicd.app_rollout#module:health) option of M(conveyor.cicd.app_rollout), for
    use on its own; for example to wait for a service, or to re-check a canary a few times before promoting.
  - Fails with one line naming the URL (without credentials), the attempts and the last reason, unless
    O(fail_on_unhealthy=false).
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Probing only reads, so check mode probes exactly as a real run does.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
options:
  url:
    description:
      - HTTP or HTTPS URL to probe. C(user:password@) in it is sent as basic authentication and never returned.
      - At least one of O(url) and O(command) is required.
    type: str
  status_codes:
    description: HTTP status codes that pass.
    type: list
    elements: int
    default: [200]
  body_contains:
    description: Text the answer's body must contain.
    type: str
  json_field:
    description: Dotted path of a field in the JSON answer (C(version), C(checks.0.status)).
    type: str
  json_value:
    description: The value O(json_field) must have, compared as text. Needs O(json_field); without it the field
      only has to exist.
    type: raw
  timeout:
    description: Seconds to wait for each answer.
    type: float
    default: 5
  retries:
    description: Failed attempts allowed after the first. V(0) fails at the first failing attempt.
    type: int
    default: 10
  delay:
    description: Seconds between attempts.
    type: float
    default: 1
  successes:
    description: Consecutive passing attempts needed.
    type: int
    default: 1
  validate_certs:
    description: Verify the TLS certificate of an HTTPS URL.
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify the TLS certificate with.
    type: path
  command:
    description: A command (argv list) that passes when it exits with 0, run after the HTTP probe of each attempt.
    type: list
    elements: str
  command_timeout:
    description: Seconds the command may run.
    type: float
    default: 30
  fail_on_unhealthy:
    description: Fail the task when the check ends unhealthy. With V(false) the result says RV(healthy=false).
    type: bool
    default: true
notes:
  - C(changed) is always false.
"""

EXAMPLES = r"""
- name: Wait for the application to answer, up to 30 seconds
  conveyor.cicd.health_check:
    url: http://127.0.0.1:8080/healthz
    retries: 30
    delay: 1

- name: Re-check a canary three times, a second apart; any failure fails
  conveyor.cicd.health_check:
    url: http://127.0.0.1:8080/version
    json_field: version
    json_value: "{{ release_version }}"
    successes: 3
    retries: 0

- name: Is Prometheus ready? (no failure)
  conveyor.cicd.health_check:
    url: http://127.0.0.1:9090/-/ready
    retries: 0
    fail_on_unhealthy: false
  register: prometheus_ready
"""

RETURN = r"""
healthy:
  description: Whether the check ended healthy.
  returned: always
  type: bool
attempts:
  description: Attempts made.
  returned: always
  type: int
status:
  description: HTTP status of the last answer, null when there was none (or no O(url)).
  returned: always
  type: int
reason:
  description: "V(ok), or why the last attempt failed: C(status 503, expected 200), C(no answer: ...)."
  returned: always
  type: str
url:
  description: The URL probed, without credentials.
  returned: always
  type: str
duration:
  description: Seconds the check took.
  returned: always
  type: float
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import HEALTH_OPTIONS
from ansible_collections.conveyor.cicd.plugins.module_utils._health import health_check
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module: ConveyorModule) -> dict:
    params = dict(module.params)
    fail = params.pop("fail_on_unhealthy")
    return health_check(params, fail=fail)


MODULE_SPEC = dict(
    argument_spec=dict(
        HEALTH_OPTIONS,
        status_codes=dict(type="list", elements="int", default=[200]),
        timeout=dict(type="float", default=5),
        retries=dict(type="int", default=10),
        delay=dict(type="float", default=1),
        successes=dict(type="int", default=1),
        validate_certs=dict(type="bool", default=True),
        command=dict(type="list", elements="str"),
        command_timeout=dict(type="float", default=30),
        fail_on_unhealthy=dict(type="bool", default=True),
    ),
    required_one_of=[("url", "command")],
    required_by={"json_value": "json_field"},
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
