#!/usr/bin/env python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""B5: 1,000 small PostgreSQL migrations - db_migrate vs yoyo-migrations vs `psql -1 -f` (the limit).

Each migration creates a table, an index and inserts a row. Every contender starts from a
fresh database on the same throwaway PostgreSQL server (started here, on 127.0.0.1). Also
measured: a run with nothing to do on a database that has the 1,000 migrations applied.

    .venv/bin/python benchmarks/b5_migrations.py [--count 1000] [--repeat 3]

Needs: PostgreSQL server binaries (initdb, pg_ctl, psql) and `pip install yoyo-migrations`.
Prints a markdown table and writes benchmarks/results/b5_migrations.json.
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

from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.engine import (  # noqa: E402
    driver_from_params,
    migrate,
)
from tests.support.playbook import ansible_env  # noqa: E402
from tests.support.servers import start_postgres, stop_postgres  # noqa: E402

VENV_BIN = Path(sys.executable).parent
TARGET_RATIO = 1.3
TARGET_NOOP_S = 1.0


def migration_sql(i: int) -> str:
    return (
        f"CREATE TABLE bench_{i:04d} (id serial PRIMARY KEY, name text NOT NULL, "
        "created_at timestamptz NOT NULL DEFAULT now());\n"
        f"CREATE INDEX bench_{i:04d}_name ON bench_{i:04d} (name);\n"
        f"INSERT INTO bench_{i:04d} (name) VALUES ('item {i}');\n"
    )


def write_migrations(base: Path, count: int) -> dict:
    conveyor, yoyo = base / "conveyor", base / "yoyo"
    conveyor.mkdir()
    yoyo.mkdir()
    chunks = []
    for i in range(1, count + 1):
        sql = migration_sql(i)
        (conveyor / f"V{i}__bench_{i:04d}.sql").write_text(sql)
        (yoyo / f"{i:04d}_bench.sql").write_text(sql)
        chunks.append(sql)
    concatenated = base / "all.sql"
    concatenated.write_text("".join(chunks))
    return {"conveyor": conveyor, "yoyo": yoyo, "concatenated": concatenated}


class Databases:
    def __init__(self, server):
        self.server = server
        self.n = 0

    def fresh(self, label: str) -> str:
        self.n += 1
        name = f"b5_{label}_{self.n}"
        self.server.create_database(name)
        return name


def timed(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def run_checked(argv, env=None):
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}")
    return proc


def engine_run(dsn: str, path: Path, expect_changed: bool) -> None:
    result = migrate(driver_from_params({"engine": "postgresql", "dsn": dsn}), str(path))
    if result["changed"] != expect_changed:
        raise SystemExit(f"db_migrate engine: changed={result['changed']}, expected {expect_changed}")


def playbook_run(tmp: Path, dsn: str, path: Path, expect_changed: bool) -> None:
    playbook = tmp / "b5.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "connection": "local",
                    "tasks": [
                        {
                            "name": "migrate",
                            "conveyor.cicd.db_migrate": {
                                "engine": "postgresql",
                                "dsn": "{{ b5_dsn }}",
                                "migrations_path": str(path),
                            },
                        }
                    ],
                }
            ]
        )
    )
    env = ansible_env(callback="ansible.builtin.default")
    proc = run_checked(
        [str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), "-e", json.dumps({"b5_dsn": dsn})],
        env=env,
    )
    changed = "changed=1" in proc.stdout
    if changed != expect_changed:
        raise SystemExit(f"db_migrate playbook: changed={changed}, expected {expect_changed}")


def ansible_overhead(tmp: Path) -> None:
    """One ansible-playbook run of a single ping task: the fixed cost any module round trip pays."""
    playbook = tmp / "overhead.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                     "tasks": [{"name": "ping", "ansible.builtin.ping": {}}]}]))  # fmt: skip
    run_checked([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", str(playbook)], env=ansible_env())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the median is reported")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "b5_migrations.json"))
    args = parser.parse_args()

    psql = shutil.which("psql")
    if not psql:
        sys.exit("psql is not installed (Debian package postgresql-client)")
    yoyo = shutil.which("yoyo", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if not yoyo:
        sys.exit("yoyo-migrations is not installed: .venv/bin/pip install yoyo-migrations")

    tmp = Path(tempfile.mkdtemp(prefix="conveyor-b5-"))
    server = start_postgres()
    try:
        files = write_migrations(tmp, args.count)
        dbs = Databases(server)
        keys = ("psql", "psql_autocommit", "engine", "playbook", "yoyo", "noop_engine", "noop_playbook", "ansible")
        times: dict[str, list[float]] = {k: [] for k in keys}
        for _round in range(args.repeat):
            db = dbs.fresh("psql")
            times["psql"].append(
                timed(
                    lambda db=db: run_checked(
                        [
                            psql,
                            "-X",
                            "-q",
                            "-1",
                            "-v",
                            "ON_ERROR_STOP=1",
                            "-d",
                            server.dsn(db),
                            "-f",
                            str(files["concatenated"]),
                        ]
                    )
                )
            )
            db = dbs.fresh("psqlauto")
            times["psql_autocommit"].append(
                timed(
                    lambda db=db: run_checked(
                        [
                            psql,
                            "-X",
                            "-q",
                            "-v",
                            "ON_ERROR_STOP=1",
                            "-d",
                            server.dsn(db),
                            "-f",
                            str(files["concatenated"]),
                        ]
                    )
                )
            )
            times["ansible"].append(timed(lambda: ansible_overhead(tmp)))
            db = dbs.fresh("engine")
            times["engine"].append(timed(lambda db=db: engine_run(server.dsn(db), files["conveyor"], True)))
            times["noop_engine"].append(timed(lambda db=db: engine_run(server.dsn(db), files["conveyor"], False)))
            times["noop_playbook"].append(
                timed(lambda db=db: playbook_run(tmp, server.dsn(db), files["conveyor"], False))
            )
            db = dbs.fresh("playbook")
            times["playbook"].append(timed(lambda db=db: playbook_run(tmp, server.dsn(db), files["conveyor"], True)))
            db = dbs.fresh("yoyo")
            yoyo_url = server.dsn(db).replace("postgresql://", "postgresql+psycopg://", 1)
            times["yoyo"].append(
                timed(
                    lambda url=yoyo_url: run_checked(
                        [yoyo, "apply", "--batch", "--no-config-file", "--database", url, str(files["yoyo"])]
                    )
                )
            )
    finally:
        stop_postgres(server)
        shutil.rmtree(tmp, ignore_errors=True)

    median = {k: statistics.median(v) for k, v in times.items()}
    limit = median["psql"]
    rows = [
        ("psql -1 -f (the limit: one transaction, no history)", "psql"),
        ("psql -f without -1 (autocommit per statement, no history)", "psql_autocommit"),
        ("db_migrate engine (module_utils, in process)", "engine"),
        ("db_migrate through ansible-playbook", "playbook"),
        ("yoyo-migrations apply", "yoyo"),
        ("no-op on all applied: db_migrate engine", "noop_engine"),
        ("no-op on all applied: through ansible-playbook", "noop_playbook"),
        ("ansible-playbook with one ping task (fixed cost of a module)", "ansible"),
    ]
    print(f"\nB5: {args.count} migrations (create table + index + insert), PostgreSQL, median of {args.repeat}\n")
    print("| contender | seconds | x limit |")
    print("|---|---:|---:|")
    for label, key in rows:
        ratio = f"{median[key] / limit:.2f}" if key not in ("noop_engine", "noop_playbook", "ansible") else "-"
        print(f"| {label} | {median[key]:.2f} | {ratio} |")
    verdict = {
        "engine_within_1_3x_limit": median["engine"] <= TARGET_RATIO * limit,
        "engine_faster_than_yoyo": median["engine"] < median["yoyo"],
        "playbook_within_1_3x_limit": median["playbook"] <= TARGET_RATIO * limit,
        "playbook_faster_than_yoyo": median["playbook"] < median["yoyo"],
        "noop_engine_under_1s": median["noop_engine"] < TARGET_NOOP_S,
        "noop_playbook_under_1s": median["noop_playbook"] < TARGET_NOOP_S,
        "noop_playbook_minus_fixed_cost_under_1s": median["noop_playbook"] - median["ansible"] < TARGET_NOOP_S,
    }
    print("\n" + "\n".join(f"- {k}: {'yes' if v else 'NO'}" for k, v in verdict.items()))
    report = {
        "benchmark": "B5 migrations",
        "count": args.count,
        "repeat": args.repeat,
        "seconds_median": median,
        "seconds_all": times,
        "ratio_to_limit": {k: median[k] / limit for k in ("psql", "psql_autocommit", "engine", "playbook", "yoyo")},
        "targets": {"ratio_to_limit": TARGET_RATIO, "noop_seconds": TARGET_NOOP_S},
        "verdict": verdict,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
