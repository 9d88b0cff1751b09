"""Start the real server as a subprocess (``python -m sample_app`` with PYTHONPATH=src)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

APP_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 10.0


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class RunningServer:
    def __init__(self, process: subprocess.Popen, port: int, stderr_path: Path) -> None:
        self.process = process
        self.port = port
        self.stderr_path = stderr_path

    def request(self, path: str, method: str = "GET") -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            connection.request(method, path, headers={"User-Agent": "sample-app-e2e"})
            response = connection.getresponse()
            return Response(response.status, dict(response.getheaders()), response.read())
        finally:
            connection.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8")


def _wait_until_listening(server: RunningServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"the server exited with {server.process.returncode}: {server.stderr}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"the server did not listen on port {server.port} within {START_TIMEOUT}s")


@pytest.fixture
def start_server(tmp_path):
    """start_server(*flags, env=None) -> RunningServer; every server is stopped after the test."""
    started: list[RunningServer] = []

    def start(*flags: str, env: dict[str, str] | None = None) -> RunningServer:
        port = free_port()
        environ = {key: value for key, value in os.environ.items() if not key.startswith("SAMPLE_APP_")}
        environ["PYTHONPATH"] = str(APP_ROOT / "src")
        environ.update(env or {})
        stderr_path = tmp_path / f"server-{port}.stderr"
        with stderr_path.open("w", encoding="utf-8") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "sample_app", "--host", "127.0.0.1", "--port", str(port), *flags],
                cwd=tmp_path,
                env=environ,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        server = RunningServer(process, port, stderr_path)
        started.append(server)
        _wait_until_listening(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)
