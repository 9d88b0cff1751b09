"""Helpers for the rollout tests: sample-app release artifacts, local app services, HTTP probes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

from ansible_collections.conveyor.cicd.plugins.module_utils._archive import pack

from .kill import stop_pid_file
from .paths import ROOT

SAMPLE_APP = ROOT / "examples" / "sample_app"
APP_FILES = ("src", "migrations", "pyproject.toml", "README.md")
_BROKEN_FROM = "if rate is not None else Fraction(0)"
_BROKEN_TO = "if rate is not None else Fraction(1)"


def make_release(directory: Path, version: str, broken: bool = False) -> tuple[str, str]:
    """A tar.gz of the sample app reporting ``version``; ``broken`` makes every request fail (error rate 1).

    Returns (path, sha256). Same inputs give the same bytes.
    """
    tree = directory / f"tree-{version}{'-broken' if broken else ''}"
    if tree.exists():
        shutil.rmtree(tree)
    tree.mkdir(parents=True)
    for name in APP_FILES:
        source = SAMPLE_APP / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, tree / name)
    init = tree / "src" / "sample_app" / "__init__.py"
    text = init.read_text()
    assert '__version__ = "' in text
    init.write_text(text.replace(text.split('__version__ = "')[1].split('"')[0], version, 1))
    if broken:
        config = tree / "src" / "sample_app" / "config.py"
        source = config.read_text()
        assert _BROKEN_FROM in source, "the sample app's error-rate default moved; update tests/support/rollout.py"
        config.write_text(source.replace(_BROKEN_FROM, _BROKEN_TO))
    files = sorted(str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file())
    dest = directory / f"app-{version}{'-broken' if broken else ''}.tar.gz"
    result = pack(str(tree), files, str(dest), "tar.gz", mtime=1_700_000_000)
    shutil.rmtree(tree)
    return result["path"], result["sha256"]


def app_service(port: int) -> dict:
    """service option of app_rollout for the sample app on 127.0.0.1:port (command manager)."""
    return {
        "manager": "command",
        "start": [
            "python3",
            "-m",
            "sample_app",
            "--port",
            str(port),
            "--pid-file",
            "{shared}/run/app.pid",
            "--database",
            "{shared}/app.db",
        ],
        "pid_file": "{shared}/run/app.pid",
        "log_file": "{shared}/logs/app.log",
        "environment": {"PYTHONPATH": "src"},
        "stop_timeout": 10,
    }


def app_health(port: int, retries: int = 20, delay: float = 0.1) -> dict:
    return {
        "url": f"http://127.0.0.1:{port}/version",
        "json_field": "version",
        "json_value": "{version}",
        "retries": retries,
        "delay": delay,
        "timeout": 2,
    }


def get_json(url: str, timeout: float = 2.0) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None


def stop_app(root: Path) -> None:
    """Stop the sample app started under ``root`` (pid file in shared/run), if it runs."""
    stop_pid_file(Path(root) / "shared" / "run" / "app.pid", timeout=5.0)


def read_state(root: Path) -> dict:
    return json.loads((Path(root) / "releases.json").read_text())


def statuses(root: Path) -> dict:
    return {item["id"]: item["status"] for item in read_state(root)["releases"]}


def publish(repository: Path, name: str, version: str, artifact: tuple[str, str]) -> str:
    """Put ``artifact`` into a file repository as <name>/<version>/<name>-<version>.tar.gz with its manifest."""
    from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store

    store = open_store(f"file://{repository}")
    filename = f"{name}-{version}.tar.gz"
    store.put(f"{name}/{version}/{filename}", artifact[0], sha256=artifact[1])
    manifest = {
        "schema": 1,
        "name": name,
        "version": version,
        "artifacts": [
            {"name": filename, "format": "tar.gz", "sha256": artifact[1], "size": os.path.getsize(artifact[0])}
        ],
    }
    store.put_bytes(f"{name}/{version}/{name}-{version}.manifest.json", json.dumps(manifest).encode())
    return f"file://{repository}"


def local_inventory(directory: Path, state_dir: Path, ports: dict) -> Path:
    """A copy of inventories/local (hosts.yml + group vars) with its own state dir and ports."""
    import yaml

    inventory = directory / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    source = ROOT / "inventories" / "local"
    hosts = yaml.safe_load((source / "hosts.yml").read_text())
    groups = hosts["all"]["children"]["app"]["children"]
    wanted = {}
    for group in groups.values():
        for host in list(group["hosts"]):
            if host in ports:
                group["hosts"][host]["deploy_port"] = ports[host]
                wanted[host] = True
            else:
                del group["hosts"][host]
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (inventory / "group_vars" / "app").mkdir()
    shutil.copy(source / "group_vars" / "app" / "deploy.yml", inventory / "group_vars" / "app" / "deploy.yml")
    for name in ("staging", "production"):
        shutil.copy(source / "group_vars" / f"{name}.yml", inventory / "group_vars" / f"{name}.yml")
    (inventory / "group_vars" / "all.yml").write_text(f"conveyor_state_dir: {state_dir}\n")
    return inventory


def stop_hosts(state_dir: Path) -> None:
    """Stop every app and nginx started under <state_dir>/hosts."""
    hosts = Path(state_dir) / "hosts"
    if not hosts.is_dir():
        return
    for pid_file in list(hosts.rglob("app.pid")) + list(hosts.rglob("nginx.pid")):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    time.sleep(0.3)


def serving(port: int, timeout: float = 2.0) -> str | None:
    """The version that 127.0.0.1:port answers on /version; ``None`` when nothing listens, ``"HTTP <code>"`` on an
    error status."""
    try:
        status, body = get_json(f"http://127.0.0.1:{port}/version", timeout=timeout)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None
    return body["version"] if status == 200 and body else f"HTTP {status}"


def version_statuses(root: Path) -> dict:
    """{version: status} of every release recorded under ``root``; {} when nothing was ever recorded."""
    path = Path(root) / "releases.json"
    if not path.exists():
        return {}
    return {item["version"]: item["status"] for item in read_state(root)["releases"]}


def failures(run) -> dict[str, str]:
    """The message of the task that failed on each host of a playbook run."""
    out = {}
    for play in run.data.get("plays", []):
        for task in play.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                if result.get("failed") and not result.get("ignore_errors"):
                    out[host] = result.get("msg", "")
    return out
