"""An application with a dependency, described only by inventory variables: package, publish and deploy playbooks.

The package stage builds the wheelhouse into the release tarball (the dependency comes from a local directory of
wheels, no package index); the deploy builds each release's .venv from it and the service runs from that .venv.
"""

from __future__ import annotations

import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.paths import ROOT, require_binary
from tests.support.playbook import run_playbook
from tests.support.rollout import local_inventory, stop_hosts
from tests.support.servers import free_port
from tests.unit.ci.pyapp import app_project, build_wheel, dep_project

pytestmark = pytest.mark.integration

GIT_ENV = {
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.com",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.com",
    "GIT_AUTHOR_DATE": "2024-06-01T10:00:00Z",
    "GIT_COMMITTER_DATE": "2024-06-01T10:00:00Z",
    "PATH": "/usr/bin:/bin",
}


def git(tree: Path, *argv: str) -> None:
    subprocess.run([require_binary("git"), *argv], cwd=tree, env=GIT_ENV, check=True, capture_output=True)


@pytest.fixture
def app(tmp_path):
    """tinyapp committed in its own git work tree with a lock file; its wheel built into dist/ (untracked)."""
    links = tmp_path / "links"
    build_wheel(dep_project(tmp_path / "deps"), links)
    project = app_project(tmp_path)
    (project / "requirements.lock").write_text("tinydep==1.0.0\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "feat: tinyapp")
    git(project, "tag", "v1.0.0")  # the package stage publishes 1.0.0 only from the commit its release tag names
    wheel = build_wheel(project, project / "dist")
    return {"dir": project, "wheel": wheel, "links": links}


@pytest.fixture
def env(tmp_path, app):
    state = tmp_path / "state"
    port = free_port()
    inventory = local_inventory(tmp_path, state, {"app1": port})
    description = {
        "conveyor_state_dir": str(state),
        # the application description: what a team sets for a Python service with dependencies
        "conveyor_app_dir": str(app["dir"]),
        "conveyor_app_name": "tinyapp",
        "conveyor_app_requirements": "requirements.lock",
        "conveyor_app_find_links": [str(app["links"])],
        "conveyor_app_no_index": True,
        "deploy_service": {
            "manager": "command",
            "start": ["{release_path}/.venv/bin/tinyapp-serve", "{{ deploy_port }}"],
            "pid_file": "{shared}/run/app.pid",
            "log_file": "{shared}/logs/service.log",
        },
        "deploy_health_path": "/health",
        "deploy_health_version_path": "",
    }
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(description))
    yield {"state": state, "port": port, "inventory": str(inventory), "app": app}
    stop_hosts(state)


def package(env, check=False):
    extra = {"ci_outputs": [str(env["app"]["wheel"])], "ci_build_summary": {}, "ci_test_summary": {}}
    return run_playbook(
        ROOT / "playbooks" / "package.yml",
        inventory=env["inventory"],
        extra_vars={**extra, "conveyor_snapshot": False},
        check=check,
    )


def members(path: Path) -> list[str]:
    with tarfile.open(path) as archive:
        return sorted(member.name for member in archive.getmembers() if not member.isdir())


def test_the_release_carries_its_wheelhouse_and_runs_from_its_own_venv(env):
    state = env["state"]
    first = package(env)
    assert first.rc == 0, first.output[-3000:]
    tarball = state / "packages" / "tinyapp-1.0.0.tar.gz"
    names = members(tarball)
    assert "pyproject.toml" in names and "tinyapp/main.py" in names and "requirements.lock" in names, names
    wheels = [name for name in names if name.startswith("wheelhouse/") and name.endswith(".whl")]
    assert sorted(name.split("/")[1].split("-")[0] for name in wheels) == ["tinyapp", "tinydep"], names
    assert not any(name.startswith(("dist/", ".git/")) for name in names), names
    wheelhouse = first.result("Set the manifest for the upload")["ansible_facts"]["publish_package_result"]
    assert len(wheelhouse["wheelhouse"]) == 2, wheelhouse
    again = package(env)
    assert again.rc == 0 and again.stats["localhost"]["changed"] == 0, again.output[-3000:]
    assert members(tarball) == names
    predicted = package(env, check=True)
    assert predicted.rc == 0 and predicted.stats["localhost"]["changed"] == 0, predicted.output[-3000:]

    manifest = state / "packages" / "tinyapp-1.0.0.manifest.json"
    published = run_playbook(
        ROOT / "playbooks" / "publish.yml", inventory=env["inventory"], extra_vars={"publish_manifest": str(manifest)}
    )
    assert published.rc == 0, published.output[-3000:]

    deploy = run_playbook(ROOT / "playbooks" / "deploy.yml", inventory=env["inventory"])
    assert deploy.rc == 0, deploy.output[-3000:]
    rollout = deploy.result("Roll out the release", host="app1")
    assert rollout["python_env"]["built"] is True and rollout["python_env"]["wheels"] == 2, rollout["python_env"]
    current = state / "hosts" / "app1" / "current"
    assert (current / ".venv" / ".conveyor-env.json").is_file()
    with urllib.request.urlopen(f"http://127.0.0.1:{env['port']}/health", timeout=3) as answer:
        assert answer.read() == b"ok 1.0.0 pong"
    pid = (state / "hosts" / "app1" / "shared" / "run" / "app.pid").read_text().strip()
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    venv = str(current.resolve() / ".venv")
    assert any(part.decode().startswith(venv) for part in command), command

    rerun = run_playbook(ROOT / "playbooks" / "deploy.yml", inventory=env["inventory"])
    assert rerun.rc == 0, rerun.output[-3000:]
    assert rerun.stats["app1"]["changed"] == 0, rerun.output[-3000:]
    assert not (rerun.result("Roll out the release", host="app1")["python_env"] or {}).get("built")
    assert (current / ".venv" / ".conveyor-env.json").is_file()


def test_without_a_python_env_the_package_and_the_deploy_are_unchanged(env):
    """The sample app's defaults: no conveyor_app_python_env, no requirements, no wheelhouse, no .venv."""
    inventory = Path(env["inventory"])
    description = yaml.safe_load((inventory / "group_vars" / "all.yml").read_text())
    del description["conveyor_app_requirements"]
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(description))
    run = package(env)
    assert run.rc == 0, run.output[-3000:]
    names = members(env["state"] / "packages" / "tinyapp-1.0.0.tar.gz")
    assert not any(name.startswith("wheelhouse/") for name in names), names
    assert not (env["state"] / "package-stage").exists()
    assert run.result("Package the release")["file_selection"] == "git"


def test_a_changed_file_rebuilds_the_staged_tree_and_check_mode_predicts_it(env):
    assert package(env).rc == 0
    tarball = env["state"] / "packages" / "tinyapp-1.0.0.tar.gz"
    before = tarball.read_bytes()
    app = env["app"]["dir"]
    (app / "NOTES.md").write_text("notes\n")
    git(app, "add", "NOTES.md")
    git(app, "commit", "-q", "-m", "docs: notes")
    git(app, "tag", "-f", "v1.0.0")  # a release build of the new commit
    predicted = package(env, check=True)
    assert predicted.rc == 0, predicted.output[-3000:]
    assert predicted.result("Package the release")["changed"] is True
    assert tarball.read_bytes() == before
    run = package(env)
    assert run.rc == 0, run.output[-3000:]
    names = members(tarball)
    assert "NOTES.md" in names and any(name.startswith("wheelhouse/tinydep-") for name in names), names
