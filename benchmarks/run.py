"""Run every benchmark in this directory (b*.py) in order and print their tables.

Benchmarks are not part of the test suite: they measure speed and memory against the bare
tools, side by side in one run, and keep JSON results in benchmarks/results/.

    .venv/bin/python benchmarks/run.py            # all of them
    .venv/bin/python benchmarks/run.py b1 b5      # some of them
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("b[0-9]*.py"))
    if argv:
        scripts = [s for s in scripts if any(s.name.startswith(prefix) for prefix in argv)]
    failed = 0
    for script in scripts:
        print(f"\n## {script.stem}\n", flush=True)
        rc = subprocess.call([sys.executable, str(script)])
        if rc != 0:
            print(f"{script.name} exited with {rc}")
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
