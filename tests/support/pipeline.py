"""Run the whole pipeline in tests: a copy of the local inventory on free ports, and a clean stop."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

import yaml

from .paths import ROOT
from .servers import free_port


def pipeline_inventory(directory: Path) -> tuple[Path, dict]:
    """A copy of inventories/local whose app hosts listen on free ports; returns it and the extra vars
    that move the monitoring servers (and the canary's metric gate) to free ports too."""
    inventory = directory / "inventory"
    shutil.copytree(ROOT / "inventories" / "local", inventory)
    hosts_file = inventory / "hosts.yml"
    hosts = yaml.safe_load(hosts_file.read_text())
    for group in hosts["all"]["children"]["app"]["children"].values():
        for host in group["hosts"]:
            group["hosts"][host]["deploy_port"] = free_port()
    hosts_file.write_text(yaml.safe_dump(hosts, sort_keys=False))
    prometheus = free_port()
    extra = {
        "monitoring_prometheus_port": prometheus,
        "monitoring_pushgateway_port": free_port(),
        "monitoring_node_exporter_port": free_port(),
        "deploy_canary_metrics_url": f"http://127.0.0.1:{prometheus}",
    }
    return hosts_file, extra


def stop_services(state_dir: Path, timeout: float = 10.0) -> None:
    """SIGTERM every process whose pid file lies under the state directory, then wait for them."""
    pids = []
    for pid_file in Path(state_dir).rglob("*.pid"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            pids.append(pid)
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
