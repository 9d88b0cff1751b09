# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only module: returns the given ``result`` keys (and fails when ``fail`` is true).

The pipeline_events tests use it to produce results shaped like app_rollout or test_suite
results (``conveyor_deploy``, ``rolled_back``, ``tests``...) without deploying anything.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: conveyor_event_probe
short_description: Return a given result (tests only)
description: Returns the keys of O(result) as the task result.
options:
  result:
    description: Keys to return.
    type: dict
    default: {}
  fail:
    description: Fail with O(msg).
    type: bool
    default: false
  msg:
    description: The failure message.
    type: str
    default: probe failed
  changed:
    description: The changed flag.
    type: bool
    default: false
author: conveyor.cicd maintainers (@conveyor-cicd)
"""


def main():
    module = AnsibleModule(
        argument_spec={
            "result": {"type": "dict", "default": {}},
            "fail": {"type": "bool", "default": False},
            "msg": {"type": "str", "default": "probe failed"},
            "changed": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    result = dict(module.params["result"], changed=module.params["changed"])
    if module.params["fail"]:
        module.fail_json(msg=module.params["msg"], **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
