#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: provision
short_description: Plan and apply a Terraform or OpenTofu project, applying exactly the reviewed plan
version_added: 0.1.0
description:
  - Runs C(init), makes a plan into a file, reads it with C(show -json), and applies exactly that plan file.
  - O(state=planned) only writes the plan to O(plan_file) and returns its summary; O(state=present) with
    O(plan_file) applies that saved plan and refuses it when the state changed after it was made (a stale plan).
  - The workspace is passed to every command through C(TF_WORKSPACE); a missing workspace is created, and the
    workspace selected in the project directory stays as it was.
  - Input variables are written to a private temporary C(*.tfvars.json) file (complex values keep their types, no
    value appears on a command line) that is removed afterwards.
  - Destroy protection - O(state=absent) needs O(allow_destroy=true), and a plan that destroys or replaces resources
    fails unless O(allow_replace=true); the message lists the addresses.
  - Values of sensitive outputs are never returned unless O(return_sensitive=true), which requires C(no_log) on the
    task; values of O(sensitive_variables), of variables declared C(sensitive), and of sensitive outputs are masked
    in every message, output tail and diff.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description:
      - Runs C(init) and the plan only. C(changed) is true exactly when the plan has changes (resources or outputs),
        or when the workspace would be created. A saved plan is checked for staleness without applying it.
  diff_mode:
    support: full
    description: Returns Terraform's own rendering of the plan (sensitive values masked) as C(diff.prepared).
options:
  project_path:
    description: Directory of the root module (the C(.tf) files). Commands run in it.
    type: path
    required: true
  state:
    description:
      - V(present) plans and applies (or applies O(plan_file) when given).
      - V(absent) plans a destroy and applies it; needs O(allow_destroy=true).
      - V(planned) writes the plan to O(plan_file) and applies nothing.
    type: str
    choices: [present, absent, planned]
    default: present
  binary:
    description: The CLI to run - V(terraform), V(tofu), or a full path.
    type: str
    default: terraform
  workspace:
    description: The workspace; created when missing (except for O(state=absent), where there is nothing to destroy).
    type: str
    default: default
  variables:
    description:
      - Input variables. Lists, maps and objects keep their types (they are passed through a C(.tfvars.json) file).
      - Names not declared by the project are an error.
    type: dict
    default: {}
  sensitive_variables:
    description: Input variables whose values are secret; merged over O(variables) and masked everywhere.
    type: dict
    default: {}
  variables_files:
    description: C(.tfvars) or C(.tfvars.json) files, applied in order before O(variables) (which win).
    type: list
    elements: path
    default: []
  backend_config:
    description:
      - Backend settings for C(init). They reach Terraform through a generated backend file in a private
        temporary directory (mode 0600, removed afterwards), never on a command line; values of
        secret-looking keys (C(password), C(secret_key), C(access_key), C(token), C(conn_str)) are masked.
    type: dict
    default: {}
  backend_config_files:
    description: Backend configuration files passed to C(init) as C(-backend-config=path).
    type: list
    elements: path
    default: []
  plan_file:
    description:
      - Where O(state=planned) writes the plan (replaced atomically), or the saved plan O(state=present) applies.
      - A relative path is relative to O(project_path).
    type: path
  lock:
    description: Lock the state while planning and applying (Terraform's C(-lock)).
    type: bool
    default: true
  lock_timeout:
    description: How long to wait for a state lock held by another run, as seconds or a duration (V(30s), V(5m)).
    type: str
    default: 0s
  targets:
    description: Resource addresses to limit the plan to (C(-target)). Meant for exceptional cases.
    type: list
    elements: str
    default: []
  parallelism:
    description: Number of concurrent operations (C(-parallelism)); Terraform's default when not set.
    type: int
  init:
    description: Run C(init) before planning. It is idempotent and upgrades nothing unless O(init_upgrade=true).
    type: bool
    default: true
  init_reconfigure:
    description: Pass C(-reconfigure) to C(init), ignoring a previously initialised backend.
    type: bool
    default: false
  init_upgrade:
    description: Pass C(-upgrade) to C(init), upgrading providers and modules within their constraints.
    type: bool
    default: false
  allow_destroy:
    description: Confirms O(state=absent).
    type: bool
    default: false
  allow_replace:
    description: Allow O(state=present) to apply a plan that destroys or replaces resources.
    type: bool
    default: false
  return_sensitive:
    description:
      - Return the values of sensitive outputs as RV(sensitive_outputs). The task must have C(no_log) set, otherwise
        the task fails before doing anything.
    type: bool
    default: false
requirements:
  - Terraform (1.4 or later) or OpenTofu on the target host.
notes:
  - Terraform is run with C(TF_IN_AUTOMATION=1), C(TF_INPUT=0), C(CHECKPOINT_DISABLE=1), C(-input=false) and
    C(-no-color).
  - Applying a saved plan twice fails the second time (the first apply changed the state); make a new plan.
  - O(variables), O(sensitive_variables), O(variables_files) and O(targets) are ignored when applying a saved plan;
    they were fixed when the plan was made.
seealso:
  - plugin: conveyor.cicd.terraform_hosts
    plugin_type: inventory
"""

EXAMPLES = r"""
- name: Provision the staging hosts
  conveyor.cicd.provision:
    project_path: "{{ playbook_dir }}/../examples/infra"
    workspace: staging
    variables:
      state_dir: /srv/conveyor
      environment: staging
  register: infra

- name: Make a plan for review
  conveyor.cicd.provision:
    project_path: /srv/infra
    workspace: production
    state: planned
    plan_file: /srv/plans/production.tfplan
    sensitive_variables:
      db_password: "{{ vault_db_password }}"
  register: production_plan

- name: Apply exactly the reviewed plan
  conveyor.cicd.provision:
    project_path: /srv/infra
    workspace: production
    plan_file: /srv/plans/production.tfplan

- name: Read a sensitive output (the task must be no_log)
  conveyor.cicd.provision:
    project_path: /srv/infra
    return_sensitive: true
  register: infra_secrets
  no_log: true

- name: Tear the review environment down
  conveyor.cicd.provision:
    project_path: /srv/infra
    workspace: review-42
    state: absent
    allow_destroy: true

- name: Use OpenTofu with an S3 backend
  conveyor.cicd.provision:
    binary: tofu
    project_path: /srv/infra
    backend_config:
      bucket: conveyor-state
      key: infra.tfstate
    lock_timeout: 5m
"""

RETURN = r"""
has_changes:
  description: Whether the plan had changes to resources or outputs.
  returned: when a plan was made or read
  type: bool
summary:
  description:
    - Counts of the plan. V(add), V(change) and V(destroy) count like Terraform's C(Plan:) line (a replacement counts
      once in add and once in destroy); V(replace), V(import), V(forget), V(move) and V(outputs) count alone.
  returned: when a plan was made or read
  type: dict
  sample: {add: 2, change: 0, destroy: 1, replace: 1, import: 0, forget: 0, move: 0, outputs: 1}
actions:
  description:
    - Resource addresses per action - V(create), V(update), V(delete), V(replace), V(read), V(import), V(forget),
      V(move) (C(old -> new)), and V(outputs) (names of outputs that change).
  returned: when a plan was made or read
  type: dict
  sample: {create: ['terraform_data.host["app1"]'], update: [], delete: [], replace: [], outputs: [hosts]}
outputs:
  description: Values of the non-sensitive outputs after the run (in check mode, of the current state).
  returned: success
  type: dict
  sample: {hosts: {app1: {address: 127.0.0.1, groups: [staging], vars: {}}}}
sensitive_output_names:
  description: Names of the sensitive outputs, whose values are not in RV(outputs).
  returned: success
  type: list
  elements: str
sensitive_outputs:
  description: Values of the sensitive outputs.
  returned: when O(return_sensitive=true) (on a C(no_log) task)
  type: dict
plan_file:
  description: The plan written (O(state=planned); not written in check mode) or applied.
  returned: when O(plan_file) is given
  type: str
workspace:
  description: The workspace used.
  returned: always
  type: str
workspace_created:
  description: Whether the workspace was (or in check mode, would be) created.
  returned: always
  type: bool
terraform_version:
  description: Version reported by the binary.
  returned: always
  type: str
  sample: 1.11.4
binary:
  description: Full path of the binary that ran.
  returned: always
  type: str
tail:
  description: Last lines of the failing command's output, sensitive values masked.
  returned: on failure of a command
  type: list
  elements: str
lock:
  description: The lock that blocked the run - V(id), V(path), V(who), V(operation), V(created).
  returned: when the state was locked by another run
  type: dict
stale:
  description: True when the saved plan was refused as stale.
  returned: when a saved plan was stale
  type: bool
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule
from ansible_collections.conveyor.cicd.plugins.module_utils._terraform import provision, secret_strings

ARGUMENT_SPEC = dict(
    project_path=dict(type="path", required=True),
    state=dict(type="str", default="present", choices=["present", "absent", "planned"]),
    binary=dict(type="str", default="terraform"),
    workspace=dict(type="str", default="default"),
    variables=dict(type="dict", default={}),
    sensitive_variables=dict(type="dict", default={}, no_log=True),
    variables_files=dict(type="list", elements="path", default=[]),
    backend_config=dict(type="dict", default={}),
    backend_config_files=dict(type="list", elements="path", default=[]),
    plan_file=dict(type="path"),
    lock=dict(type="bool", default=True),
    lock_timeout=dict(type="str", default="0s"),
    targets=dict(type="list", elements="str", default=[]),
    parallelism=dict(type="int"),
    init=dict(type="bool", default=True),
    init_reconfigure=dict(type="bool", default=False),
    init_upgrade=dict(type="bool", default=False),
    allow_destroy=dict(type="bool", default=False),
    allow_replace=dict(type="bool", default=False),
    return_sensitive=dict(type="bool", default=False),
)


def run(module: ConveyorModule) -> dict:
    result = provision(**module.params, task_no_log=module.no_log, check_mode=module.check_mode, want_diff=module._diff)
    if module.params["return_sensitive"]:
        # the task is no_log: return the requested values even when they equal a sensitive_variables value
        for value in secret_strings(result.get("sensitive_outputs")):
            module.no_log_values.discard(value)
    return result


MODULE_SPEC = dict(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
