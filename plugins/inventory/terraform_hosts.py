# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: terraform_hosts
short_description: Hosts and groups from the outputs of Terraform or OpenTofu projects
version_added: 0.1.0
description:
  - Reads one output of each configured project and workspace with C(terraform output -json) and adds its hosts.
  - The output is a map of host name to an object with C(address) (string, optional), C(groups) (list of group
    names, optional) and C(vars) (map of host variables, optional).
  - Nothing is changed - the workspace is chosen with C(TF_WORKSPACE), a missing workspace is an error (it is never
    created), and C(init) is not run. Projects with a remote backend must have been initialised on the controller.
  - The configuration file name must end with C(terraform_hosts.yml) or C(terraform_hosts.yaml).
author: conveyor.cicd maintainers (@conveyor-cicd)
extends_documentation_fragment:
  - constructed
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    required: true
    type: str
    choices: [conveyor.cicd.terraform_hosts]
  binary:
    description: The CLI to run - V(terraform), V(tofu), or a full path.
    type: str
    default: terraform
  projects:
    description: The projects (and workspaces) to read. A host found in several merges its groups and vars (later wins).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Directory of the root module; a relative path is relative to the configuration file.
        type: path
        required: true
      workspace:
        description: Workspace to read.
        type: str
        default: default
      output:
        description: Name of the output that holds the host map.
        type: str
        default: hosts
      environment:
        description: Extra environment variables for the CLI, for example C(TF_DATA_DIR).
        type: dict
        default: {}
      group:
        description: A group every host of this project joins, in addition to its own C(groups).
        type: str
  address_var:
    description: The host variable that receives each host's C(address).
    type: str
    default: ansible_host
requirements:
  - Terraform or OpenTofu on the controller.
"""

EXAMPLES = r"""
# inventories/terraform/infra.terraform_hosts.yml
plugin: conveyor.cicd.terraform_hosts
projects:
  - path: ../../examples/infra
    workspace: staging
    environment:
      TF_DATA_DIR: /var/lib/conveyor/terraform/.terraform
  - path: ../../examples/infra
    workspace: production
    environment:
      TF_DATA_DIR: /var/lib/conveyor/terraform/.terraform
    group: prod_datacenter
keyed_groups:
  - prefix: port
    key: deploy_port | string
compose:
  app_url: "'http://' ~ ansible_host ~ ':' ~ deploy_port"

# The output the projects define (Terraform):
#   output "hosts" {
#     value = {
#       app1 = { address = "10.0.0.11", groups = ["staging"], vars = { deploy_port = 18081 } }
#     }
#   }
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Constructable

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._terraform import read_outputs

HOST_KEYS = {"address", "groups", "vars"}


def validate_host_map(hosts, where: str) -> dict:
    """The host map, checked: name -> {address: str|None, groups: [str], vars: dict}."""
    if hosts is None:
        return {}
    if not isinstance(hosts, dict):
        raise AnsibleParserError(
            f"{where} must be a map of host name to {{address, groups, vars}}, got {type(hosts).__name__}"
        )
    checked = {}
    for name, spec in hosts.items():
        spec = spec if spec is not None else {}
        if not isinstance(spec, dict):
            raise AnsibleParserError(f"{where}: host '{name}' must be an object {{address, groups, vars}}")
        unknown = set(spec) - HOST_KEYS
        if unknown:
            raise AnsibleParserError(
                f"{where}: host '{name}' has unknown keys {sorted(unknown)}; put host variables under 'vars'"
            )
        address = spec.get("address")
        groups = spec.get("groups") if spec.get("groups") is not None else []
        host_vars = spec.get("vars") if spec.get("vars") is not None else {}
        if address is not None and not isinstance(address, str):
            raise AnsibleParserError(f"{where}: host '{name}' has an address that is not a string")
        if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
            raise AnsibleParserError(f"{where}: host '{name}' needs 'groups' as a list of group names")
        if not isinstance(host_vars, dict):
            raise AnsibleParserError(f"{where}: host '{name}' needs 'vars' as a map")
        checked[str(name)] = {"address": address, "groups": groups, "vars": host_vars}
    return checked


class InventoryModule(BaseInventoryPlugin, Constructable):
    NAME = "conveyor.cicd.terraform_hosts"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("terraform_hosts.yml", "terraform_hosts.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        base = os.path.dirname(os.path.abspath(path))
        binary = self.get_option("binary")
        address_var = self.get_option("address_var")
        strict = self.get_option("strict")
        for project in self.get_option("projects") or []:
            if not isinstance(project, dict) or not project.get("path"):
                raise AnsibleParserError(f"{path}: every entry of 'projects' needs a 'path'")
            project_path = os.path.join(base, os.path.expanduser(str(project["path"])))
            workspace = str(project.get("workspace") or "default")
            output = str(project.get("output") or "hosts")
            where = f"output '{output}' of {project_path} (workspace {workspace})"
            try:
                plain, sensitive = read_outputs(binary, project_path, workspace, env=project.get("environment"))
            except ConveyorError as exc:
                raise AnsibleParserError(f"{path}: {exc.msg}") from None
            if output in sensitive:
                raise AnsibleParserError(f"{where} is sensitive: a host map must not be; drop 'sensitive = true'")
            if output not in plain:
                raise AnsibleParserError(
                    f"{where} does not exist (outputs: {', '.join(sorted(plain)) or 'none'}); apply the project first"
                )
            hosts = validate_host_map(plain[output], where)
            for name, spec in hosts.items():
                self._add_host(name, spec, project.get("group"), address_var, strict)

    def _add_host(self, name, spec, extra_group, address_var, strict):
        self.inventory.add_host(name)
        for group in [*spec["groups"], *([extra_group] if extra_group else [])]:
            group_name = self.inventory.add_group(group)
            self.inventory.add_child(group_name, name)
        if spec["address"]:
            self.inventory.set_variable(name, address_var, spec["address"])
        for key, value in spec["vars"].items():
            self.inventory.set_variable(name, key, value)
        host_vars = self.inventory.get_host(name).get_vars()
        self._set_composite_vars(self.get_option("compose"), host_vars, name, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), host_vars, name, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, name, strict=strict)
