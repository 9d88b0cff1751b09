"""Real servers started on 127.0.0.1 for the tests, each on a free port, stopped at the end."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .paths import require_binary


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on {host}:{port} after {timeout}s")


@dataclass
class ServerProcess:
    """One server program in its own process group: started, waited for, stopped with everything it forked.

    ``ready`` is an extra readiness check after the port opens: an HTTP path that must answer 200, or a
    callable that returns true once the server can serve.
    """

    name: str
    argv: list[str]
    port: int
    workdir: Path
    env: dict | None = None
    log_name: str | None = None
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready=None, timeout: float = 30.0) -> ServerProcess:
        self.workdir = Path(self.workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / (self.log_name or f"{self.name}.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_for_port(self.port, timeout=timeout)
            if ready is not None:
                self._wait_ready(ready, timeout)
        except BaseException as exc:
            self.stop()
            if isinstance(exc, (TimeoutError, AssertionError)):
                raise AssertionError(f"{self.name} did not start: {self.log_tail()}") from None
            raise
        return self

    def _wait_ready(self, ready, timeout: float) -> None:
        check = ready if callable(ready) else lambda: _answers_200(self.url + ready)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if check():
                    return
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline or not self.running:
                raise TimeoutError(f"{self.name} was not ready after {timeout}s")
            time.sleep(0.2)

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster with trust auth for user ``postgres`` and a password user."""

    port: int
    datadir: str
    user: str = "conveyor"
    password: str = "conveyor-test-secret"
    host: str = "127.0.0.1"

    def dsn(self, dbname: str = "postgres", with_password: bool = True) -> str:
        auth = f"{self.user}:{self.password}" if with_password else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        psql = require_binary("psql")
        out = subprocess.run(
            [
                psql,
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                dbname,
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}" OWNER {self.user}')
        return name


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--", *argv] if runuser else ["su", "postgres", "-c", " ".join(argv)]


def start_postgres() -> PostgresServer:
    initdb = require_binary("initdb", "PostgreSQL server (Debian package postgresql)")
    pg_ctl = require_binary("pg_ctl", "PostgreSQL server (Debian package postgresql)")
    base = tempfile.mkdtemp(prefix="conveyor-pg-")
    datadir = os.path.join(base, "data")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
    os.chmod(base, 0o755)
    port = free_port()
    subprocess.run(
        _as_postgres([initdb, "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
    )
    with open(os.path.join(datadir, "pg_hba.conf"), "w", encoding="utf-8") as hba:
        hba.write(
            "local all postgres trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
    subprocess.run(
        _as_postgres(
            [
                pg_ctl,
                "-D",
                datadir,
                "-l",
                os.path.join(base, "server.log"),
                "-w",
                "-t",
                "30",
                "-o",
                f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    wait_for_port(port)
    server = PostgresServer(port=port, datadir=datadir)
    server.psql(f"CREATE ROLE {server.user} LOGIN CREATEDB PASSWORD '{server.password}'")
    return server


def stop_postgres(server: PostgresServer) -> None:
    pg_ctl = require_binary("pg_ctl")
    subprocess.run(
        _as_postgres([pg_ctl, "-D", server.datadir, "-m", "immediate", "stop"]), capture_output=True, check=False
    )
    shutil.rmtree(os.path.dirname(server.datadir), ignore_errors=True)
