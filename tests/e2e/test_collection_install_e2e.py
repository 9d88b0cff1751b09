"""The collection as users get it: built with ansible-galaxy, installed from the tarball, run by FQCN."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.paths import ROOT, SAMPLE_APP, VENV_BIN

PLUGIN_TYPES = {
    "modules": "module",
    "filter": "filter",
    "callback": "callback",
    "inventory": "inventory",
    "lookup": "lookup",
    "action": "module",
    "strategy": "strategy",
    "connection": "connection",
}


def clean_env(collections: Path) -> dict:
    """No checkout configuration: only the installed collection is visible."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="1",
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("galaxy")
    build = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(base)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = next(base.glob("conveyor-cicd-*.tar.gz"))
    collections = base / "collections"
    install = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(collections)],
        cwd=base,
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(collections),
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return base, collections, collections / "ansible_collections" / "conveyor" / "cicd"


def test_tarball_leaves_out_development_state(installed):
    _base, _collections, root = installed
    for unwanted in (".venv", ".cache", ".state", "tests/output", "examples/sample_app/dist"):
        assert not (root / unwanted).exists(), unwanted
    assert (root / "MANIFEST.json").is_file() and (root / "playbooks" / "pipeline.yml").is_file()


def test_ansible_doc_works_for_every_module_and_plugin(installed):
    base, collections, root = installed
    checked = 0
    for folder, doc_type in PLUGIN_TYPES.items():
        names = sorted(p.stem for p in (root / "plugins" / folder).glob("*.py") if not p.stem.startswith("_"))
        if folder == "filter":
            names = sorted(p.stem for p in (root / "plugins" / folder).glob("*.yml"))
        if not names:
            continue
        fqcns = [f"conveyor.cicd.{n}" for n in names]
        proc = subprocess.run(
            [str(VENV_BIN / "ansible-doc"), "-t", doc_type, "--json", *fqcns],
            cwd=base,
            capture_output=True,
            text=True,
            check=False,
            env=clean_env(collections),
        )
        assert proc.returncode == 0, proc.stderr
        docs = json.loads(proc.stdout)
        assert sorted(docs) == sorted(fqcns), proc.stderr
        assert all(d.get("doc", {}).get("short_description") for d in docs.values())
        checked += len(names)
    assert checked >= 10


def test_playbook_runs_by_fqcn_from_the_installed_copy(installed):
    base, collections, root = installed
    app = base / "app"
    shutil.copytree(SAMPLE_APP, app, ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__"))
    extra = {"conveyor_app_dir": str(app), "conveyor_state_dir": str(base / "state")}
    proc = subprocess.run(
        [
            str(VENV_BIN / "ansible-playbook"),
            "-i",
            str(root / "inventories" / "local" / "hosts.yml"),
            "conveyor.cicd.ci",
            "-e",
            json.dumps(extra),
        ],
        cwd=base,
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(collections),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "test:e2e" in proc.stdout and "failed=0" in proc.stdout
    assert sorted(p.suffix for p in (app / "dist").iterdir()) == [".gz", ".whl"]
