"""A hand-made event history for the DORA and report tests.

The expected numbers are worked out by hand in tests/unit/events/test_events_dora.py; keep the
two in step. Window used there: 30 days ending at NOW (2024-05-31T00:00:00Z).
"""

from __future__ import annotations

from pathlib import Path

from ansible_collections.conveyor.cicd.plugins.module_utils._events import EventStore, parse_time

NOW = "2024-05-31T00:00:00Z"


def t(text: str) -> float:
    return parse_time(text)


# (run, environment, kind, [(host, finished at, status, rolled_back, changed)], version, commit time, check mode)
DEPLOYMENTS = [
    (
        "d1",
        "production",
        "deploy",
        [("web1", "2024-04-20T12:00:00Z", "success", False, True)],
        "1.0.0",
        "2024-04-20T10:00:00Z",
        False,
    ),
    (
        "d2",
        "production",
        "deploy",
        [
            ("web1", "2024-05-02T10:00:00Z", "success", False, True),
            ("web2", "2024-05-02T10:05:00Z", "success", False, True),
        ],
        "1.1.0",
        "2024-05-02T09:00:00Z",
        False,
    ),
    (
        "d3",
        "production",
        "deploy",
        [("web1", "2024-05-05T12:00:00Z", "success", False, True)],
        "1.2.0",
        "2024-05-04T12:00:00Z",
        False,
    ),
    ("r3", "production", "rollback", [("web1", "2024-05-05T14:00:00Z", "success", False, True)], "1.1.0", None, False),
    (
        "d4",
        "production",
        "deploy",
        [
            ("web1", "2024-05-10T07:55:00Z", "success", False, True),
            ("web2", "2024-05-10T08:00:00Z", "failed", False, True),
        ],
        "1.3.0",
        "2024-05-10T07:00:00Z",
        False,
    ),
    (
        "d5",
        "production",
        "deploy",
        [("web1", "2024-05-10T09:00:00Z", "failed", True, True)],
        "1.3.0",
        "2024-05-10T07:00:00Z",
        False,
    ),
    (
        "d6",
        "production",
        "deploy",
        [("web1", "2024-05-10T11:00:00Z", "success", False, True)],
        "1.3.1",
        "2024-05-10T10:30:00Z",
        False,
    ),
    (
        "d7",
        "production",
        "deploy",
        [("web1", "2024-05-20T16:00:00Z", "success", False, False)],
        "1.3.1",
        "2024-05-10T10:30:00Z",
        False,
    ),
    (
        "d8",
        "production",
        "deploy",
        [("web1", "2024-05-25T09:00:00Z", "success", False, True)],
        "1.4.0",
        "2024-05-23T09:00:00Z",
        False,
    ),
    (
        "s1",
        "staging",
        "deploy",
        [("stage1", "2024-05-29T09:00:00Z", "success", False, True)],
        "1.5.0",
        "2024-05-29T08:00:00Z",
        False,
    ),
    (
        "c1",
        "production",
        "deploy",
        [("web1", "2024-05-28T09:00:00Z", "success", False, True)],
        "1.5.0",
        "2024-05-28T08:00:00Z",
        True,
    ),
    (
        "d9",
        "production",
        "deploy",
        [("web1", "2024-05-30T20:00:00Z", "failed", False, True)],
        "1.5.0",
        "2024-05-30T19:00:00Z",
        False,
    ),
    (
        "d10",
        "production",
        "deploy",
        [("web1", "2024-05-31T06:00:00Z", "success", False, True)],
        "1.5.1",
        "2024-05-31T05:00:00Z",
        False,
    ),
]

# Stages of the pipeline runs shown in the report: (name, seconds).
STAGES = [
    ("CI stages", 40.0),
    ("Package", 8.0),
    ("Publish", 5.0),
    ("Deploy staging", 20.0),
    ("Deploy production", 25.0),
]


def build_dora_store(path: Path) -> Path:
    """The deployment history above, one run per deployment."""
    with EventStore(str(path)) as store:
        for run_id, environment, kind, hosts, version, commit_time, check_mode in DEPLOYMENTS:
            first = min(t(at) for _host, at, *_rest in hosts)
            last = max(t(at) for _host, at, *_rest in hosts)
            store.start_run(run_id, "cd.yml", first - 60, check_mode=check_mode)
            stage = store.start_stage(run_id, 1, f"Deploy {environment}", first - 60)
            for host, at, status, rolled_back, changed in hosts:
                store.add_deployment(
                    run_id,
                    stage,
                    host,
                    t(at),
                    environment,
                    kind=kind,
                    status=status,
                    version=version,
                    commit=f"{run_id}0000cafe",
                    commit_time=commit_time,
                    rolled_back=rolled_back,
                    changed=changed,
                )
            failed = any(status != "success" for _host, _at, status, *_rest in hosts)
            store.finish_stage(stage, last, "failed" if failed else "success", {h[0]: {"ok": 1} for h in hosts})
            store.finish_run(run_id, last, "failed" if failed else "success", {"ok": len(hosts)}, [h[0] for h in hosts])
    return path


def build_report_store(path: Path, runs: int = 6) -> Path:
    """The DORA history plus ``runs`` full pipeline runs with stages, tests and failures."""
    build_dora_store(path)
    with EventStore(str(path)) as store:
        start = t("2024-05-31T07:00:00Z")
        for index in range(runs):
            run_id = f"pipeline{index}"
            clock = start + index * 600
            store.start_run(run_id, "pipeline.yml", clock)
            failed_run = index == runs - 1
            for seq, (name, seconds) in enumerate(STAGES, start=1):
                seconds = seconds + index * 2
                stage = store.start_stage(run_id, seq, name, clock)
                status = "failed" if failed_run and seq == len(STAGES) else "success"
                if name == "CI stages":
                    store.add_tests(
                        run_id,
                        stage,
                        "localhost",
                        clock + 10,
                        "ci : Run the unit tests",
                        {
                            "name": "unit",
                            "tests": 42,
                            "passed": 40,
                            "failed": 1,
                            "errors": 0,
                            "skipped": 1,
                            "duration": 3.5,
                        },
                    )
                    store.add_tests(
                        run_id,
                        stage,
                        "localhost",
                        clock + 20,
                        "ci : Run the integration tests",
                        {"name": "integration <api>", "tests": 12, "passed": 12, "duration": 9.0},
                    )
                if status == "failed":
                    store.add_failure(
                        run_id, stage, "web1", clock + 5, "deploy : Check health", "GET /healthz returned 503 <html>"
                    )
                store.finish_stage(
                    stage,
                    clock + seconds,
                    status,
                    {"localhost": {"ok": 5, "changed": 1, "failed": int(status == "failed")}},
                )
                clock += seconds
            store.finish_run(
                run_id, clock, "failed" if failed_run else "success", {"ok": 25, "changed": 5}, ["localhost"]
            )
    return path
