"""playbooks/provision.yml on examples/infra, then the terraform_hosts inventory plugin on the applied state."""

from __future__ import annotations

import json
import subprocess

import yaml

from tests.integration.terraform.conftest import provision
from tests.support.paths import ROOT, VENV_BIN
from tests.support.playbook import ansible_env, run_playbook, run_tasks

INFRA = ROOT / "examples" / "infra"


def inventory(config, *args):
    argv = [str(VENV_BIN / "ansible-inventory"), "-i", str(config), *args]
    env = ansible_env({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, callback="default")
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False, cwd=ROOT)


def plain(value):
    """A value of ansible-inventory's JSON without its unsafe marker."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def write_config(path, **config):
    path.write_text(yaml.safe_dump({"plugin": "conveyor.cicd.terraform_hosts", **config}, sort_keys=False))
    return path


def test_provision_playbook_then_inventory_from_the_applied_state(tmp_path, terraform_bin):
    state_dir = tmp_path / "state"
    first = run_playbook(ROOT / "playbooks" / "provision.yml", extra_vars={"conveyor_state_dir": str(state_dir)})
    assert first.rc == 0, first.output
    assert first.stats["localhost"]["changed"] >= 1
    assert sorted(p.name for p in (state_dir / "hosts").iterdir()) == ["app1", "app2", "app3"]
    assert (state_dir / "terraform" / "workspaces" / "staging" / "terraform.tfstate").is_file()
    assert not list(INFRA.glob("*.tfstate")) and not (INFRA / ".terraform").exists(), "nothing written in the project"
    result = first.result("Run Terraform in each workspace")
    by_workspace = {item["_provision_workspace"]: item for item in result["results"]}
    assert list(by_workspace["staging"]["outputs"]["hosts"]) == ["app1"]
    assert sorted(by_workspace["production"]["outputs"]["hosts"]) == ["app2", "app3"]

    again = run_playbook(ROOT / "playbooks" / "provision.yml", extra_vars={"conveyor_state_dir": str(state_dir)})
    assert again.rc == 0 and again.stats["localhost"]["changed"] == 0, again.output
    predicted = run_playbook(
        ROOT / "playbooks" / "provision.yml", extra_vars={"conveyor_state_dir": str(state_dir)}, check=True
    )
    assert predicted.rc == 0 and predicted.stats["localhost"]["changed"] == 0, predicted.output

    data_dir = {"TF_DATA_DIR": str(state_dir / "terraform" / ".terraform")}
    config = write_config(
        tmp_path / "infra.terraform_hosts.yml",
        projects=[
            {"path": str(INFRA), "workspace": "staging", "environment": data_dir},
            {"path": str(INFRA), "workspace": "production", "environment": data_dir, "group": "datacenter"},
        ],
        keyed_groups=[{"prefix": "port", "key": "deploy_port | string"}],
        compose={"app_url": "'http://' ~ ansible_host ~ ':' ~ deploy_port"},
    )
    listed = inventory(config, "--list")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    hostvars = data["_meta"]["hostvars"]
    assert sorted(hostvars) == ["app1", "app2", "app3"]
    assert sorted(data["production"]["hosts"]) == ["app2", "app3"]
    assert data["staging"]["hosts"] == ["app1"]
    assert sorted(data["app"]["hosts"]) == ["app1", "app2", "app3"]
    assert plain(hostvars["app2"]["deploy_root"]) == str(state_dir / "hosts" / "app2")
    assert plain(hostvars["app2"]["ansible_connection"]) == "local"
    assert plain(hostvars["app2"]["ansible_host"]) == "127.0.0.1"
    assert hostvars["app2"]["deploy_port"] == 18082
    assert sorted(data["datacenter"]["hosts"]) == ["app2", "app3"]
    assert data["port_18082"]["hosts"] == ["app2"]

    # the hosts are usable: a play on the production group writes into each host's root
    marker_play = tmp_path / "marker.yml"
    marker_play.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "mark",
                    "hosts": "production",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "write",
                            "ansible.builtin.copy": {
                                "content": "{{ app_url }}",
                                "dest": "{{ deploy_root }}/marker",
                                "mode": "0644",
                            },
                        }
                    ],
                }
            ]
        )
    )
    marked = run_playbook(marker_play, inventory=str(config))
    assert marked.rc == 0, marked.output
    assert (state_dir / "hosts" / "app3" / "marker").read_text() == "http://127.0.0.1:18083"
    assert not (state_dir / "hosts" / "app1" / "marker").exists()


def test_inventory_host_vars_and_address_var(tmp_path, project):
    run = run_tasks(tmp_path, [provision("apply", project, workspace="blue")])
    assert run.rc == 0, run.output
    config = write_config(
        tmp_path / "terraform_hosts.yml",
        projects=[{"path": str(project), "workspace": "blue"}],
        address_var="app_address",
    )
    listed = inventory(config, "--host", "a")
    assert listed.returncode == 0, listed.stderr
    host = json.loads(listed.stdout)
    assert plain(host["app_address"]) == "127.0.0.1" and "ansible_host" not in host
    assert host["item_size"] == 1
    groups = json.loads(inventory(config, "--list").stdout)
    assert groups["x"]["hosts"] == ["a"]


def test_inventory_errors_are_clear_and_change_nothing(tmp_path, project):
    run = run_tasks(tmp_path, [provision("apply", project)])
    assert run.rc == 0, run.output
    cases = {
        "missing workspace": ({"path": str(project), "workspace": "nope"}, "workspace 'nope' does not exist"),
        "missing output": ({"path": str(project), "output": "servers"}, "output 'servers'"),
        "not a host map": ({"path": str(project), "output": "label"}, "must be a map of host name"),
        "sensitive output": ({"path": str(project), "output": "token"}, "is sensitive"),
    }
    for name, (project_config, expected) in cases.items():
        config = write_config(tmp_path / f"{name.replace(' ', '_')}.terraform_hosts.yml", projects=[project_config])
        listed = inventory(config, "--list")
        assert listed.returncode != 0, name
        assert expected in listed.stderr, (name, listed.stderr)
        assert "Traceback" not in listed.stderr
    assert not (project / "terraform.tfstate.d" / "nope").exists(), "reading never creates a workspace"

    config = write_config(
        tmp_path / "nobin.terraform_hosts.yml", binary="tofu-not-here", projects=[{"path": str(project)}]
    )
    listed = inventory(config, "--list")
    assert listed.returncode != 0 and "tofu-not-here" in listed.stderr and "install" in listed.stderr
