# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pipeline event store: runs, stages, deployments, failures and test counts.

One SQLite file holds the history. The ``pipeline_events`` callback writes to it; the
``dora_metrics`` and ``pipeline_report`` modules read it. Everything stored passes through
``_secrets.mask_data`` first, so secrets never reach the file. The module also holds the optional sinks
(a JSON-lines file and a Prometheus Pushgateway) and the DORA computations.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import sqlite3
import time
import urllib.parse
from datetime import datetime, timezone

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._pushgateway import push
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import mask_data
from ansible_collections.conveyor.cicd.plugins.module_utils._service import pid_alive

DEFAULT_DB_PATH = "~/.local/share/conveyor/events.db"
DB_ENV = "CONVEYOR_EVENTS_DB"
SCHEMA_VERSION = 2

# Each entry brings the schema from version N-1 to N; PRAGMA user_version records where a file is.
MIGRATIONS = {
    1: """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            playbook TEXT NOT NULL,
            started REAL NOT NULL,
            ended REAL,
            duration REAL,
            status TEXT NOT NULL,
            check_mode INTEGER NOT NULL DEFAULT 0,
            hosts TEXT NOT NULL DEFAULT '[]',
            ok INTEGER NOT NULL DEFAULT 0,
            changed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            unreachable INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            controller TEXT
        );
        CREATE INDEX runs_started ON runs (started);
        CREATE TABLE stages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs (id),
            seq INTEGER NOT NULL,
            name TEXT NOT NULL,
            started REAL NOT NULL,
            ended REAL,
            duration REAL,
            status TEXT NOT NULL,
            ok INTEGER NOT NULL DEFAULT 0,
            changed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            unreachable INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX stages_run ON stages (run_id, seq);
        CREATE TABLE stage_hosts (
            stage_id INTEGER NOT NULL REFERENCES stages (id),
            host TEXT NOT NULL,
            ok INTEGER NOT NULL DEFAULT 0,
            changed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            unreachable INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (stage_id, host)
        );
        CREATE TABLE deployments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs (id),
            stage_id INTEGER REFERENCES stages (id),
            host TEXT NOT NULL,
            at REAL NOT NULL,
            environment TEXT NOT NULL,
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            version TEXT,
            commit_sha TEXT,
            commit_time REAL,
            rolled_back INTEGER NOT NULL DEFAULT 0,
            changed INTEGER NOT NULL DEFAULT 0,
            release_id TEXT,
            previous_release TEXT,
            current_release TEXT
        );
        CREATE INDEX deployments_env ON deployments (environment, at);
        CREATE TABLE failures (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs (id),
            stage_id INTEGER REFERENCES stages (id),
            at REAL NOT NULL,
            host TEXT NOT NULL,
            task TEXT NOT NULL,
            action TEXT,
            message TEXT NOT NULL,
            ignored INTEGER NOT NULL DEFAULT 0,
            unreachable INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE test_results (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id TEXT NOT NULL REFERENCES runs (id),
            stage_id INTEGER REFERENCES stages (id),
            at REAL NOT NULL,
            host TEXT NOT NULL,
            task TEXT NOT NULL,
            suite TEXT,
            tests INTEGER NOT NULL DEFAULT 0,
            passed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            errors INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            duration REAL
        );
    """,
    # the process that records a run, so that a later run can tell a killed one from a live one
    2: """
        ALTER TABLE runs ADD COLUMN pid INTEGER;
    """,
}

COUNT_KEYS = ("ok", "changed", "failed", "unreachable", "skipped")

# ---------------------------------------------------------------------------------------------
# Small helpers shared by the store, the metrics and the report.


def resolve_db_path(path: str | None = None) -> str:
    """The store path: the explicit one, else $CONVEYOR_EVENTS_DB, else the per-user default."""
    chosen = path or os.environ.get(DB_ENV) or DEFAULT_DB_PATH
    return os.path.abspath(os.path.expanduser(chosen))


def parse_time(value, what: str = "time") -> float | None:
    """Epoch seconds from an epoch number or an ISO 8601 string (naive means UTC); None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ConfigurationError(f"{what} must be an ISO 8601 date or epoch seconds, not a boolean")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"{what} {value!r} is not a date: use ISO 8601 (2024-05-01T12:00:00+00:00) or epoch seconds"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # noqa: UP017 - module_utils also run on Python < 3.11
    return parsed.timestamp()


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*\Z")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value, what: str = "duration") -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"24h"``, ``"2d"`` or ``"1w"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ConfigurationError(
                f"{what} {value!r} is not a duration: use seconds or a number with s, m, h, d or w"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ConfigurationError(f"{what} must not be negative")
    return seconds


def human_duration(seconds) -> str | None:
    """``3725`` -> ``1h 2m``: the two largest units, seconds shown with one decimal under a minute."""
    if seconds is None:
        return None
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 and seconds != int(seconds) else f"{seconds:.0f}s"
    parts = []
    remaining = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if remaining >= size:
            parts.append(f"{remaining // size}{unit}")
            remaining %= size
        if len(parts) == 2:
            break
        if parts and not remaining:
            break
    return " ".join(parts)


def iso(epoch) -> str | None:
    if epoch is None:
        return None
    stamp = datetime.fromtimestamp(float(epoch), tz=timezone.utc)  # noqa: UP017 - module_utils also run on Python < 3.11
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def median(values):
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2.0


def percentile(values, pct: float):
    """Nearest-rank percentile: the smallest value with at least ``pct`` percent of values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return float(ordered[rank - 1])


# ---------------------------------------------------------------------------------------------
# The store.


class EventStore:
    """One SQLite event store. Writers create and migrate it; readers open it read-only."""

    def __init__(self, path: str, readonly: bool = False):
        self.path = resolve_db_path(path)
        self.readonly = readonly
        if readonly:
            if not os.path.isfile(self.path):
                raise ConfigurationError(
                    f"event store {self.path} does not exist: enable the conveyor.cicd.pipeline_events callback "
                    "(callbacks_enabled) so that runs are recorded, or point db_path at an existing store"
                )
            uri = "file:" + urllib.parse.quote(self.path) + "?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, timeout=30)
        else:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            _create_private(self.path)  # SQLite gives its journal and WAL files the same mode
            self.db = sqlite3.connect(self.path, timeout=30)
        self.db.row_factory = sqlite3.Row
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise ConfigurationError(
                f"{self.path} is not a conveyor event store ({exc}): choose another db_path"
            ) from None
        if version > SCHEMA_VERSION:
            self.db.close()
            raise ConfigurationError(
                f"event store {self.path} has schema version {version}, newer than this collection's "
                f"{SCHEMA_VERSION}: upgrade conveyor.cicd"
            )
        if version < SCHEMA_VERSION:
            if readonly:
                self.db.close()
                raise ConfigurationError(
                    f"event store {self.path} has schema version {version}, older than {SCHEMA_VERSION}: "
                    "run any playbook with the pipeline_events callback enabled to upgrade it"
                )
            self._migrate(version)

    def _migrate(self, version: int) -> None:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            with self.db:
                self.db.executescript("BEGIN;" + MIGRATIONS[target] + f"PRAGMA user_version = {target:d};")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _insert(self, table: str, row: dict) -> int:
        row = mask_data(row)
        columns = ", ".join(row)
        marks = ", ".join("?" for _unused in row)
        with self.db:
            cursor = self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values()))
        return cursor.lastrowid

    def _update(self, table: str, key: str, key_value, row: dict) -> None:
        row = mask_data(row)
        assignments = ", ".join(f"{column} = ?" for column in row)
        with self.db:
            self.db.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", (*row.values(), key_value))

    # -- write API (the callback) ------------------------------------------------------------

    def start_run(
        self, run_id: str, playbook: str, started: float, check_mode: bool = False, controller=None, pid=None
    ):
        self._insert(
            "runs",
            {
                "id": run_id,
                "playbook": playbook,
                "started": started,
                "status": "running",
                "check_mode": int(bool(check_mode)),
                "controller": controller,
                "pid": pid,
            },
        )

    def close_abandoned_runs(self, controller, now: float, alive=None) -> list[str]:
        """Mark the runs of ``controller`` still 'running' whose process is gone as 'aborted'; return their ids.

        A run whose ansible-playbook was killed never records its end. Its ``ended`` becomes the end of its
        last recorded stage (its start when it has none); its unfinished stages are aborted at that time.
        Runs recorded without a pid (older stores) count as abandoned after a day.
        """
        alive = alive or _ansible_process_alive
        closed = []
        rows = self._rows(
            "SELECT id, pid, started FROM runs WHERE status = 'running' AND ended IS NULL AND controller IS ?",
            (controller,),
        )
        for row in rows:
            if row["pid"] is None and now - row["started"] < 86400:
                continue
            if row["pid"] is not None and alive(int(row["pid"])):
                continue
            last = self.db.execute(
                "SELECT MAX(COALESCE(ended, started)) FROM stages WHERE run_id = ?", (row["id"],)
            ).fetchone()[0]
            ended = max(row["started"], last or row["started"])
            with self.db:
                self.db.execute(
                    "UPDATE stages SET status = 'aborted', ended = COALESCE(ended, ?), "
                    "duration = COALESCE(duration, MAX(0, ? - started)) WHERE run_id = ? AND status = 'running'",
                    (ended, ended, row["id"]),
                )
                self.db.execute(
                    "UPDATE runs SET status = 'aborted', ended = ?, duration = ? WHERE id = ?",
                    (ended, ended - row["started"], row["id"]),
                )
            closed.append(row["id"])
        return closed

    def finish_run(self, run_id: str, ended: float, status: str, counts: dict | None = None, hosts=()) -> None:
        started = self.db.execute("SELECT started FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
        row = {
            "ended": ended,
            "duration": max(0.0, ended - started),
            "status": status,
            "hosts": json.dumps(sorted(hosts)),
        }
        row.update({key: int((counts or {}).get(key, 0)) for key in COUNT_KEYS})
        self._update("runs", "id", run_id, row)

    def start_stage(self, run_id: str, seq: int, name: str, started: float) -> int:
        return self._insert(
            "stages", {"run_id": run_id, "seq": seq, "name": name, "started": started, "status": "running"}
        )

    def finish_stage(self, stage_id: int, ended: float, status: str, host_counts: dict) -> None:
        started = self.db.execute("SELECT started FROM stages WHERE id = ?", (stage_id,)).fetchone()[0]
        totals = dict.fromkeys(COUNT_KEYS, 0)
        for host, counts in sorted(host_counts.items()):
            row = {"stage_id": stage_id, "host": host}
            row.update({key: int(counts.get(key, 0)) for key in COUNT_KEYS})
            self._insert("stage_hosts", row)
            for key in COUNT_KEYS:
                totals[key] += row[key]
        row = {"ended": ended, "duration": max(0.0, ended - started), "status": status}
        row.update(totals)
        self._update("stages", "id", stage_id, row)

    def add_deployment(self, run_id: str, stage_id, host: str, at: float, environment: str, **fields) -> int:
        row = {
            "run_id": run_id,
            "stage_id": stage_id,
            "host": host,
            "at": at,
            "environment": environment or "unknown",
            "kind": fields.get("kind") or "deploy",
            "status": fields.get("status") or "success",
            "version": _text(fields.get("version")),
            "commit_sha": _text(fields.get("commit")),
            "commit_time": parse_time(fields.get("commit_time"), "commit_time"),
            "rolled_back": int(bool(fields.get("rolled_back"))),
            "changed": int(bool(fields.get("changed", True))),
            "release_id": _text(fields.get("release_id")),
            "previous_release": _text(fields.get("previous_release")),
            "current_release": _text(fields.get("current_release")),
        }
        return self._insert("deployments", row)

    def add_failure(self, run_id: str, stage_id, host: str, at: float, task: str, message: str, **fields) -> int:
        row = {
            "run_id": run_id,
            "stage_id": stage_id,
            "host": host,
            "at": at,
            "task": task,
            "action": fields.get("action"),
            "message": (message or "")[:2000],
            "ignored": int(bool(fields.get("ignored"))),
            "unreachable": int(bool(fields.get("unreachable"))),
        }
        return self._insert("failures", row)

    def add_tests(self, run_id: str, stage_id, host: str, at: float, task: str, counts: dict) -> int:
        row = {"run_id": run_id, "stage_id": stage_id, "host": host, "at": at, "task": task}
        row["suite"] = _text(counts.get("name") or counts.get("suite"))
        for key in ("tests", "passed", "failed", "errors", "skipped"):
            row[key] = int(counts.get(key) or 0)
        row["duration"] = float(counts["duration"]) if isinstance(counts.get("duration"), (int, float)) else None
        return self._insert("test_results", row)

    # -- read API (modules and the report) ---------------------------------------------------

    def _rows(self, sql: str, args=()) -> list[dict]:
        return [dict(row) for row in self.db.execute(sql, args).fetchall()]

    def runs(self, limit: int = 20, include_check: bool = False) -> list[dict]:
        """The latest ``limit`` finished runs, oldest first."""
        where = "ended IS NOT NULL" + ("" if include_check else " AND check_mode = 0")
        rows = self._rows(f"SELECT * FROM runs WHERE {where} ORDER BY started DESC, id LIMIT ?", (int(limit),))
        for row in rows:
            row["hosts"] = json.loads(row["hosts"] or "[]")
        return list(reversed(rows))

    def current_run(self) -> dict | None:
        """The newest run when it is still running (the run that asks for the report), else None."""
        rows = self._rows("SELECT * FROM runs WHERE check_mode = 0 ORDER BY started DESC, id LIMIT 1")
        if not rows or rows[0]["ended"] is not None:
            return None
        rows[0]["hosts"] = json.loads(rows[0]["hosts"] or "[]")
        return rows[0]

    def last_run(self) -> dict | None:
        runs = self.runs(limit=1)
        return runs[0] if runs else None

    def run_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def stages(self, run_id: str) -> list[dict]:
        stages = self._rows("SELECT * FROM stages WHERE run_id = ? ORDER BY seq", (run_id,))
        for stage in stages:
            stage["hosts"] = self._rows(
                "SELECT host, ok, changed, failed, unreachable, skipped FROM stage_hosts WHERE stage_id = ? ORDER BY host",
                (stage["id"],),
            )
        return stages

    def failures(self, run_id: str) -> list[dict]:
        return self._rows("SELECT * FROM failures WHERE run_id = ? ORDER BY at, id", (run_id,))

    def tests(self, run_id: str) -> list[dict]:
        return self._rows("SELECT * FROM test_results WHERE run_id = ? ORDER BY at, id", (run_id,))

    def latest_tests(self, limit: int = 20) -> tuple[dict | None, list[dict]]:
        """The latest finished run that recorded test counts, with those counts."""
        for run in reversed(self.runs(limit=limit)):
            rows = self.tests(run["id"])
            if rows:
                return run, rows
        return None, []

    def deployment_rows(self, environment: str | None = None) -> list[dict]:
        sql = (
            "SELECT d.* FROM deployments d JOIN runs r ON r.id = d.run_id WHERE r.check_mode = 0"
            + (" AND d.environment = ?" if environment else "")
            + " ORDER BY d.at, d.id"
        )
        return self._rows(sql, (environment,) if environment else ())

    def deployments(self, environment: str | None = None) -> list[dict]:
        """Deployments as DORA counts them: one per run, environment and kind (all hosts together)."""
        grouped: dict[tuple, dict] = {}
        for row in self.deployment_rows(environment):
            key = (row["run_id"], row["environment"], row["kind"])
            item = grouped.get(key)
            if item is None:
                item = grouped[key] = {
                    "run_id": row["run_id"],
                    "environment": row["environment"],
                    "kind": row["kind"],
                    "started": row["at"],
                    "at": row["at"],
                    "hosts": [],
                    "version": row["version"],
                    "commit": row["commit_sha"],
                    "commit_time": row["commit_time"],
                    "changed": False,
                    "statuses": set(),
                }
            item["at"] = max(item["at"], row["at"])
            item["hosts"].append(row["host"])
            item["changed"] = item["changed"] or bool(row["changed"])
            item["statuses"].add("rolled_back" if row["rolled_back"] else row["status"])
            for field, column in (("version", "version"), ("commit", "commit_sha"), ("commit_time", "commit_time")):
                item[field] = row[column] if row[column] is not None else item[field]
        # a rollback in the same run of hosts this run had just deployed (a canary rolled back by the deploy's
        # rescue) makes that deployment rolled back, whatever the failure window
        for item in grouped.values():
            rollback = grouped.get((item["run_id"], item["environment"], "rollback"))
            undone = rollback and rollback["at"] >= item["started"] and set(rollback["hosts"]) & set(item["hosts"])
            if item["kind"] == "deploy" and undone:
                item["statuses"].add("rolled_back")
        result = []
        for item in grouped.values():
            statuses = item.pop("statuses")
            item["status"] = next((s for s in ("failed", "rolled_back") if s in statuses), "success")
            # an unchanged successful rollout (nothing new to deploy) is not a deployment
            if item["status"] == "success" and not item["changed"]:
                continue
            item["hosts"] = sorted(set(item["hosts"]))
            result.append(item)
        return sorted(result, key=lambda item: (item["at"], item["run_id"]))

    def last_deployments(self, per_environment: int = 5) -> dict[str, list[dict]]:
        """The latest deployments of every environment, newest first."""
        by_env: dict[str, list[dict]] = {}
        for item in reversed(self.deployments()):
            items = by_env.setdefault(item["environment"], [])
            if len(items) < per_environment:
                items.append(item)
        return dict(sorted(by_env.items()))

    def latest_time(self) -> float | None:
        row = self.db.execute(
            "SELECT MAX(t) FROM (SELECT MAX(COALESCE(ended, started)) AS t FROM runs UNION ALL SELECT MAX(at) FROM deployments)"
        ).fetchone()
        return row[0]


def _ansible_process_alive(pid: int) -> bool:
    """True when ``pid`` is a live Ansible process (not a process that reused the number)."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"ansible" in handle.read()
    except OSError:
        return True  # no /proc: a live pid is taken at its word


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


# ---------------------------------------------------------------------------------------------
# DORA metrics.

# Performance levels of the 2023 Accelerate State of DevOps Report, read as upper bounds.
BANDS = ("elite", "high", "medium", "low")
DAY = 86400.0
FREQUENCY_BANDS = ((1.0, "elite"), (1.0 / 7, "high"), (1.0 / 30, "medium"))  # successful deploys per day, at least
LEAD_TIME_BANDS = ((DAY, "elite"), (7 * DAY, "high"), (30 * DAY, "medium"))  # median seconds, less than
FAILURE_RATE_BANDS = ((0.05, "elite"), (0.10, "high"), (0.15, "medium"))  # rate, at most
RESTORE_BANDS = ((3600.0, "elite"), (DAY, "high"), (7 * DAY, "medium"))  # median seconds, less than
BAND_DESCRIPTIONS = {
    "deployment_frequency": {
        "elite": "on demand: at least once per day",
        "high": "between once per day and once per week",
        "medium": "between once per week and once per month",
        "low": "less than once per month",
    },
    "lead_time": {
        "elite": "less than one day",
        "high": "between one day and one week",
        "medium": "between one week and one month",
        "low": "more than one month",
    },
    "change_failure_rate": {
        "elite": "5% or less",
        "high": "10% or less",
        "medium": "15% or less",
        "low": "more than 15%",
    },
    "time_to_restore": {
        "elite": "less than one hour",
        "high": "less than one day",
        "medium": "less than one week",
        "low": "one week or more",
    },
}


def band_at_least(value, bands) -> str | None:
    if value is None:
        return None
    return next((name for limit, name in bands if value >= limit), "low")


def band_below(value, bands, inclusive: bool = False) -> str | None:
    if value is None:
        return None
    return next((name for limit, name in bands if (value <= limit if inclusive else value < limit)), "low")


def compute_dora(
    store: EventStore,
    environment: str = "production",
    days: float = 30,
    now=None,
    failure_window="1d",
) -> dict:
    """The four DORA metrics for one environment over the ``days`` before ``now`` (see docs/feedback.md)."""
    if not environment:
        raise ConfigurationError("environment must not be empty: name the environment to measure, e.g. production")
    try:
        days = float(days)
    except (TypeError, ValueError):
        raise ConfigurationError(f"days must be a number, not {days!r}") from None
    if days <= 0:
        raise ConfigurationError("days must be greater than 0: it is the length of the window in days")
    end = parse_time(now, "now") if now not in (None, "") else time.time()
    start = end - days * DAY
    window_seconds = parse_duration(failure_window, "failure_window")

    history = [d for d in store.deployments(environment) if d["at"] <= end]  # the future is unknown at ``now``
    deploys = [d for d in history if d["kind"] == "deploy"]
    rollbacks = [d for d in history if d["kind"] == "rollback" and d["status"] == "success"]
    in_window = [d for d in deploys if start < d["at"] <= end]

    # a rollback in a run that deployed this environment undid that run's own change (a canary's rescue), so only
    # the rollbacks of other runs (explicit rollbacks) mark the deployment before them as failed
    deploy_runs = {d["run_id"] for d in deploys}
    explicit_rollbacks = [r for r in rollbacks if r["run_id"] not in deploy_runs]

    # change failure: failed, rolled back by the rollout, or followed by a rollback within the window
    def is_failed(deploy):
        if deploy["status"] != "success":
            return True
        return any(deploy["at"] < r["at"] <= deploy["at"] + window_seconds for r in explicit_rollbacks)

    failed = [d for d in in_window if is_failed(d)]
    successful = [d for d in in_window if d["status"] == "success"]

    lead_times = [
        d["at"] - d["commit_time"] for d in successful if d["commit_time"] is not None and d["at"] >= d["commit_time"]
    ]

    # time to restore: an incident starts at the first failed deployment and ends at the next
    # successful deployment or rollback; consecutive failures belong to one incident
    restores = []
    unresolved = 0
    incident_start = None
    events = sorted(
        [(d["at"], "fail" if is_failed(d) else "ok", d) for d in deploys]
        + [(r["at"], "restore", r) for r in rollbacks],
        key=lambda item: item[0],
    )
    for at, kind, deploy in events:
        if kind == "fail":
            if incident_start is None:
                incident_start = deploy["at"]
        elif incident_start is not None:
            if start < incident_start <= end:
                restores.append(at - incident_start)
            incident_start = None
    if incident_start is not None and start < incident_start <= end:
        unresolved += 1

    per_day = len(successful) / days
    lead_median = median(lead_times)
    rate = (len(failed) / len(in_window)) if in_window else None
    restore_median = median(restores)
    metrics = {
        "environment": environment,
        "window": {"start": iso(start), "end": iso(end), "days": days, "failure_window_seconds": window_seconds},
        "deployment_frequency": {
            "deployments": len(in_window),
            "successful": len(successful),
            "per_day": round(per_day, 4),
            "per_week": round(per_day * 7, 4),
            "band": band_at_least(per_day, FREQUENCY_BANDS) if in_window else None,
        },
        "lead_time": {
            "count": len(lead_times),
            "median_seconds": lead_median,
            "p90_seconds": percentile(lead_times, 90),
            "median_human": human_duration(lead_median),
            "p90_human": human_duration(percentile(lead_times, 90)),
            "band": band_below(lead_median, LEAD_TIME_BANDS),
        },
        "change_failure_rate": {
            "deployments": len(in_window),
            "failed_deployments": len(failed),
            "rate": None if rate is None else round(rate, 4),
            "percent": None if rate is None else round(rate * 100, 1),
            "band": band_below(rate, FAILURE_RATE_BANDS, inclusive=True),
        },
        "time_to_restore": {
            "incidents": len(restores) + unresolved,
            "restored": len(restores),
            "unresolved": unresolved,
            "median_seconds": restore_median,
            "median_human": human_duration(restore_median),
            "band": band_below(restore_median, RESTORE_BANDS),
        },
    }
    metrics["summary"] = summary_lines(metrics)
    return metrics


def summary_lines(metrics: dict) -> list[str]:
    """The four metrics as short lines for people (the role prints them)."""
    freq, lead = metrics["deployment_frequency"], metrics["lead_time"]
    cfr, ttr = metrics["change_failure_rate"], metrics["time_to_restore"]

    def band(value):
        return value or "no data"

    rate = "-" if cfr["percent"] is None else "%g%%" % cfr["percent"]

    return [
        (
            f"deployment frequency: {freq['per_week']:g}/week, {freq['successful']} of {freq['deployments']} "
            f"deployments succeeded ({band(freq['band'])})"
            if freq["deployments"]
            else "deployment frequency: no deployments in the window (no data)"
        ),
        f"lead time for changes: median {lead['median_human'] or '-'}, p90 {lead['p90_human'] or '-'} ({band(lead['band'])})",
        f"change failure rate: {rate} ({band(cfr['band'])})",
        f"time to restore: median {ttr['median_human'] or '-'}, {ttr['unresolved']} open ({band(ttr['band'])})",
    ]


# ---------------------------------------------------------------------------------------------
# Optional sinks.


def _create_private(path: str) -> None:
    """Create ``path`` empty and owner-only (0600) if it does not exist; an existing file keeps its mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))


def append_jsonl(path: str, record: dict) -> None:
    """Append one scrubbed event as a JSON line (one write, so concurrent writers do not interleave)."""
    path = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    line = json.dumps(mask_data(record), sort_keys=True, default=str) + "\n"
    # owner-only: events quote task messages and service output
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        handle.write(line)


def push_to_gateway(url: str, job: str, grouping: dict, metrics, timeout: float = 5.0) -> None:
    """Replace the metrics of one group on a Pushgateway; ``metrics`` are (name, help, value, labels) gauges."""
    samples = [
        {"name": name, "help": text, "value": value, "labels": labels or {}} for name, text, value, labels in metrics
    ]
    push(url, job, samples, grouping=mask_data(grouping), timeout=timeout, url_option="pushgateway_url")


def stage_metrics(stage: dict) -> list:
    success = 1 if stage["status"] == "success" else 0
    return [
        ("conveyor_stage_duration_seconds", "Wall time of the pipeline stage.", stage["duration"], {}),
        ("conveyor_stage_success", "1 when the stage succeeded, 0 when it failed.", success, {}),
        ("conveyor_stage_changed_tasks", "Task results that reported a change.", stage.get("changed", 0), {}),
        ("conveyor_stage_failed_tasks", "Task results that failed.", stage.get("failed", 0), {}),
        ("conveyor_stage_last_end_timestamp_seconds", "When the stage ended (epoch seconds).", stage["ended"], {}),
    ]


def pipeline_metrics(run: dict) -> list:
    return [
        ("conveyor_pipeline_duration_seconds", "Wall time of the pipeline run.", run["duration"], {}),
        (
            "conveyor_pipeline_success",
            "1 when the run succeeded, 0 when it failed.",
            int(run["status"] == "success"),
            {},
        ),
        ("conveyor_pipeline_last_end_timestamp_seconds", "When the run ended (epoch seconds).", run["ended"], {}),
    ]
