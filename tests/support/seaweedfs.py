"""A real SeaweedFS server (``weed mini``) on 127.0.0.1 with an S3 identity, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .servers import free_port, wait_for_port

ACCESS_KEY = "conveyor-test-access"
SECRET_KEY = "conveyor-test-secret-7f3a9c"
BUCKET = "artifacts"


@dataclass
class SeaweedServer:
    endpoint_url: str
    base: str
    process: subprocess.Popen
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    bucket: str = BUCKET

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name


def weed_binary() -> str | None:
    local = Path(sys.executable).parent / "weed"
    return str(local) if local.exists() else shutil.which("weed")


def start_seaweedfs(binary: str, buckets: tuple[str, ...] = (BUCKET,)) -> SeaweedServer:
    base = tempfile.mkdtemp(prefix="conveyor-weed-")
    config = os.path.join(base, "s3.json")
    with open(config, "w", encoding="utf-8") as handle:
        json.dump(
            {
                "identities": [
                    {
                        "name": "conveyor",
                        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            },
            handle,
        )
    ports = {
        name: free_port()
        for name in (
            "master",
            "master_grpc",
            "volume",
            "volume_grpc",
            "filer",
            "filer_grpc",
            "s3",
            "s3_grpc",
            "admin",
            "admin_grpc",
        )
    }
    data = os.path.join(base, "data")
    os.makedirs(data)
    argv = [
        binary,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master_grpc']}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume_grpc']}",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer_grpc']}",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3_grpc']}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-admin.port={ports['admin']}",
        f"-admin.port.grpc={ports['admin_grpc']}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        f"-s3.config={config}",
        f"-bucket={','.join(buckets)}",
    ]
    log = open(os.path.join(base, "weed.log"), "wb")  # noqa: SIM115 - kept open for the server's lifetime
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = SeaweedServer(f"http://127.0.0.1:{ports['s3']}", base, process)
    try:
        wait_for_port(ports["s3"], timeout=60)
        deadline = time.monotonic() + 60
        while True:  # the S3 port opens before the bucket exists
            try:
                server.client().head_bucket(Bucket=buckets[0])
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.3)
    except BaseException:
        stop_seaweedfs(server)
        raise
    return server


def stop_seaweedfs(server: SeaweedServer) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
    shutil.rmtree(server.base, ignore_errors=True)
