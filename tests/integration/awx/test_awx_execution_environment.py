"""ansible-builder turns examples/awx/execution-environment.yml into a build context that installs the collection."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.support.paths import ROOT, VENV_BIN, in_ci

EE_FILE = ROOT / "examples" / "awx" / "execution-environment.yml"


def requirement_lines(path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    builder = VENV_BIN / "ansible-builder"
    if not builder.exists():
        message = "ansible-builder is not installed in the virtualenv (pip install ansible-builder)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    ctx = tmp_path_factory.mktemp("ee") / "context"
    proc = subprocess.run(
        [str(builder), "create", "-f", str(EE_FILE), "-c", str(ctx), "--output-filename", "Containerfile"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ctx


def test_containerfile_builds_from_the_base_image_with_the_requirement_files(context):
    containerfile = (context / "Containerfile").read_text()
    base = yaml.safe_load(EE_FILE.read_text())["images"]["base_image"]["name"]
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    assert "FROM $EE_BASE_IMAGE AS base" in containerfile
    assert "COPY _build/requirements.txt requirements.txt" in containerfile
    assert "COPY _build/bindep.txt bindep.txt" in containerfile
    assert "ansible-galaxy collection install" in containerfile and "-r requirements.yml" in containerfile
    assert "ansible-core>=2.21,<2.22" in containerfile


def test_build_context_carries_the_collection_requirements(context):
    assert requirement_lines(context / "_build" / "requirements.txt") == requirement_lines(ROOT / "requirements.txt")
    assert requirement_lines(context / "_build" / "bindep.txt") == requirement_lines(ROOT / "bindep.txt")
    source = context / "_build" / "collection_src" / "conveyor.cicd"
    for name in ("galaxy.yml", "meta/execution-environment.yml", "meta/runtime.yml", "plugins/modules", "roles"):
        assert (source / name).exists(), name


def test_galaxy_stage_installs_the_collection_and_introspection_finds_its_requirements(context, tmp_path):
    """Run the image's galaxy and introspect steps here, offline, exactly as the Containerfile does."""
    build = context / "_build"
    collections = tmp_path / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_GALAXY_DISABLE_GPG_VERIFY="1", ANSIBLE_COLLECTIONS_PATH=str(collections))
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible-galaxy"),
            "collection",
            "install",
            "-r",
            "requirements.yml",
            "--collections-path",
            str(collections),
        ],
        cwd=build,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    installed = collections / "ansible_collections" / "conveyor" / "cicd"
    assert (installed / "MANIFEST.json").exists()
    assert not list(installed.rglob("__pycache__"))

    pip_out, bindep_out = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    proc = subprocess.run(
        [
            sys.executable,
            str(build / "scripts" / "introspect.py"),
            "introspect",
            str(collections),
            f"--write-pip={pip_out}",
            f"--write-bindep={bindep_out}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip = pip_out.read_text()
    for requirement in requirement_lines(ROOT / "requirements.txt"):
        assert f"{requirement}  # from collection conveyor.cicd" in pip
    bindep = bindep_out.read_text()
    for requirement in requirement_lines(ROOT / "bindep.txt"):
        assert f"{requirement}  # from collection conveyor.cicd" in bindep
