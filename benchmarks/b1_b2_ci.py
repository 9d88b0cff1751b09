"""B1 and B2: the CI stages through the playbook vs the same tool commands in a plain shell script.

B1: a cold run of `playbooks/ci.yml` (empty caches) vs a shell script running the same commands
    (ruff check, ruff format --check, yamllint, shellcheck, python -m build, pytest x3), on fresh
    copies of the sample app, alternating, side by side. Target: ratio <= 1.5.
B2: a no-change rerun of the playbook vs its cold run. Target: ratio <= 0.15.

Run: .venv/bin/python benchmarks/b1_b2_ci.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import ANSIBLE_CORE, results_path  # benchmarks/_results.py

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "sample_app"
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "b1_b2_ci.json"
IGNORE = shutil.ignore_patterns(
    "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", ".conveyor", "junit-*.xml"
)

SHELL_SCRIPT = r"""
set -euo pipefail
cd "$1"
reports="$2"
mkdir -p "$reports"
ruff check --no-cache .
ruff format --no-cache --check .
yamllint -f parsable .
scripts=$(find . -name '*.sh' -not -path './.venv/*')
if [ -n "$scripts" ]; then shellcheck $scripts; fi
rm -rf dist
python -m build --no-isolation --wheel --sdist --outdir dist . > "$reports/build.log" 2>&1
python -m pytest tests/unit -q -p no:cacheprovider --junitxml="$reports/unit.xml" > "$reports/unit.log"
python -m pytest tests/integration -q -p no:cacheprovider --junitxml="$reports/integration.xml" > "$reports/it.log"
python -m pytest tests/e2e -q -p no:cacheprovider --junitxml="$reports/e2e.xml" > "$reports/e2e.log"
"""


def fresh_app(base: Path, name: str) -> Path:
    dest = base / name
    shutil.copytree(APP, dest, ignore=IGNORE)
    return dest


def env() -> dict:
    out = dict(os.environ)
    out["PATH"] = f"{VENV_BIN}{os.pathsep}{out.get('PATH', '')}"
    out["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    out.pop("CI", None)
    return out


def timed(argv, **kwargs) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env(), check=False, **kwargs)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(map(str, argv))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return elapsed


def playbook(app: Path, state: Path) -> float:
    return timed(
        [
            str(VENV_BIN / "ansible-playbook"),
            str(ROOT / "playbooks" / "ci.yml"),
            "-e",
            json.dumps({"conveyor_app_dir": str(app), "conveyor_state_dir": str(state)}),
        ]
    )


def shell(app: Path, reports: Path) -> float:
    return timed(["bash", "-c", SHELL_SCRIPT, "bench", str(app), str(reports)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = {"shell": [], "playbook_cold": [], "playbook_rerun": []}
    with tempfile.TemporaryDirectory(prefix="conveyor-b1-") as tmp:
        base = Path(tmp)
        # warm-up: Python bytecode and OS caches for both contenders
        shell(fresh_app(base, "warm-shell"), base / "warm-reports")
        playbook(fresh_app(base, "warm-play"), base / "warm-state")
        for n in range(args.rounds):
            rows["shell"].append(shell(fresh_app(base, f"shell-{n}"), base / f"reports-{n}"))
            app, state = fresh_app(base, f"play-{n}"), base / f"state-{n}"
            rows["playbook_cold"].append(playbook(app, state))
            rows["playbook_rerun"].append(playbook(app, state))
    med = {k: statistics.median(v) for k, v in rows.items()}
    b1 = med["playbook_cold"] / med["shell"]
    b2 = med["playbook_rerun"] / med["playbook_cold"]
    result = {
        "benchmark": "B1/B2 CI stages",
        "ansible_core": ANSIBLE_CORE,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "seconds": rows,
        "median_seconds": med,
        "b1_ratio_playbook_vs_shell": round(b1, 3),
        "b1_target": 1.5,
        "b2_ratio_rerun_vs_cold": round(b2, 3),
        "b2_target": 0.15,
    }
    results = results_path(RESULTS)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(result, indent=2) + "\n")
    print("| contender | median s | runs (s) |\n|---|---:|---|")
    for key, label in (
        ("shell", "plain shell script"),
        ("playbook_cold", "playbooks/ci.yml, cold"),
        ("playbook_rerun", "playbooks/ci.yml, no-change rerun"),
    ):
        print(f"| {label} | {med[key]:.2f} | {', '.join(f'{v:.2f}' for v in rows[key])} |")
    print(f"\nB1 playbook/shell = {b1:.2f}x (target <= 1.5x)")
    print(f"B2 rerun/cold = {b2:.2f}x (target <= 0.15x)")


if __name__ == "__main__":
    main()
