"""A real SeaweedFS server (``weed mini``) on 127.0.0.1 with an S3 identity, for tests and benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .servers import ServerProcess, free_port

ACCESS_KEY = "conveyor-test-access"
SECRET_KEY = "conveyor-test-secret-7f3a9c"
BUCKET = "artifacts"


@dataclass
class SeaweedServer:
    endpoint_url: str
    base: str
    process: ServerProcess
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
    process = ServerProcess("weed", argv, ports["s3"], base, log_name="weed.log")
    server = SeaweedServer(f"http://127.0.0.1:{ports['s3']}", base, process)
    try:  # the S3 port opens before the bucket exists
        process.start(ready=lambda: server.client().head_bucket(Bucket=buckets[0]), timeout=60)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return server


def stop_seaweedfs(server: SeaweedServer) -> None:
    server.process.stop(timeout=5)
    shutil.rmtree(server.base, ignore_errors=True)
