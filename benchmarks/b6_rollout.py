#!/usr/bin/env python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""B6: a rolling deploy of the sample app to 1, 5 and 20 local hosts (forks 20, serial 25%).

Each host count gets its own generated local inventory (N hosts in one group, each with its own
deploy root and a free port on 127.0.0.1, the local connection) and its own file repository holding
two sample-app releases. Measured, as wall time of `ansible-playbook playbooks/deploy.yml`:

- first: the first deploy of 1.0.0 (unpack, start, health check on every host);
- upgrade: the rolling deploy of 2.0.0 over it (unpack, switch, restart, health check).

Target: time(20) <= 3x time(1). Every app started here is stopped at the end.

    .venv/bin/python benchmarks/b6_rollout.py [--hosts 1 5 20] [--repeat 1]

Prints a markdown table and writes benchmarks/results/b6_rollout.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

import yaml  # noqa: E402

from tests.support.playbook import ansible_env  # noqa: E402
from tests.support.rollout import make_release, publish, stop_hosts  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

VENV_BIN = Path(sys.executable).parent
NAME = "conveyor-sample-app"
GROUP = "bench"
TARGET_RATIO = 3.0


def write_inventory(base: Path, hosts: int, state: Path) -> Path:
    """N local hosts in group `bench` (a child of `app`, so the local app settings apply)."""
    inventory = base / "inventory"
    (inventory / "group_vars" / "app").mkdir(parents=True)
    members = {f"b6-host{i:02d}": {"deploy_port": free_port()} for i in range(1, hosts + 1)}
    tree = {"all": {"children": {"app": {"children": {GROUP: {"hosts": members}}}}}}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(tree))
    source = ROOT / "inventories" / "local" / "group_vars" / "app" / "deploy.yml"
    shutil.copy(source, inventory / "group_vars" / "app" / "deploy.yml")
    (inventory / "group_vars" / "all.yml").write_text(f"conveyor_state_dir: {state}\n")
    return inventory


def deploy(inventory: Path, version: str) -> float:
    extra = {
        "deploy_environment": GROUP,
        "deploy_strategy": "rolling",
        "deploy_serial": "25%",
        "deploy_version": version,
    }
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "--forks", "20"]
    argv += [str(ROOT / "playbooks" / "deploy.yml"), "-e", json.dumps(extra)]
    env = ansible_env(callback="default")
    # without event recording: only the run is timed
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise SystemExit(f"deploy of {version} to {inventory} failed (rc {proc.returncode}):\n{tail}")
    return elapsed


def batches(hosts: int) -> int:
    """Number of batches Ansible makes for serial '25%' (at least one host per batch)."""
    size = max(1, int(hosts * 25 / 100))
    return -(-hosts // size)


def measure(base: Path, hosts: int, releases: dict) -> dict:
    state = base / "state"
    inventory = write_inventory(base, hosts, state)
    repo = state / "artifacts" / "staging"
    for version, artifact in releases.items():
        publish(repo, NAME, version, artifact)
    try:
        first = deploy(inventory, "1.0.0")
        upgrade = deploy(inventory, "2.0.0")
    finally:
        stop_hosts(state)
    return {"first": first, "upgrade": upgrade}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "b6_rollout.json"))
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="b6-"))
    runs: dict = {n: {"first": [], "upgrade": []} for n in args.hosts}
    try:
        releases = {v: make_release(work, v) for v in ("1.0.0", "2.0.0")}
        for round_no in range(args.repeat):
            for hosts in args.hosts:
                base = work / f"r{round_no}-n{hosts}"
                base.mkdir()
                result = measure(base, hosts, releases)
                for key, value in result.items():
                    runs[hosts][key].append(value)
                print(f"  {hosts} hosts: first {result['first']:.2f} s, upgrade {result['upgrade']:.2f} s", flush=True)
                shutil.rmtree(base, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    median = {n: {k: statistics.median(v) for k, v in r.items()} for n, r in runs.items()}
    one = min(args.hosts)
    print(f"\nB6: rolling deploy of the sample app to local hosts, forks 20, serial 25%, median of {args.repeat}\n")
    print("| hosts | batches | first deploy s | x (1 host) | upgrade s | x (1 host) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in args.hosts:
        first, upgrade = median[n]["first"], median[n]["upgrade"]
        print(
            f"| {n} | {batches(n)} | {first:.2f} | {first / median[one]['first']:.2f} "
            f"| {upgrade:.2f} | {upgrade / median[one]['upgrade']:.2f} |"
        )
    biggest = max(args.hosts)
    ratio = {k: median[biggest][k] / median[one][k] for k in ("first", "upgrade")}
    verdict = {f"time({biggest}) <= {TARGET_RATIO:g}x time({one}), {k}": ratio[k] <= TARGET_RATIO for k in ratio}
    print(
        "\n"
        + "\n".join(f"- {k}: {'yes' if v else 'NO'} ({ratio[k.rsplit(', ', 1)[1]]:.2f}x)" for k, v in verdict.items())
    )

    report = {
        "benchmark": "B6 rolling deploy",
        "forks": 20,
        "serial": "25%",
        "repeat": args.repeat,
        "seconds_median": {str(n): median[n] for n in args.hosts},
        "seconds_all": {str(n): runs[n] for n in args.hosts},
        "batches": {str(n): batches(n) for n in args.hosts},
        "ratio_largest_to_one": ratio,
        "target_ratio": TARGET_RATIO,
        "verdict": verdict,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
