"""Fixtures for the pipeline events tests: a real Prometheus Pushgateway on a free loopback port."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.paths import require_binary
from tests.support.servers import free_port, wait_for_port


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory):
    """URL of a Pushgateway started for these tests (persistence in a private directory)."""
    binary = require_binary("prometheus-pushgateway", "the callback pushes stage metrics to it")
    workdir = tmp_path_factory.mktemp("pushgateway")
    port = free_port()
    log = (workdir / "pushgateway.log").open("w")
    proc = subprocess.Popen(
        [
            binary,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={workdir / 'metrics.data'}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
