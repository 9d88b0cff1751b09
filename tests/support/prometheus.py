"""Real Prometheus, Pushgateway, node_exporter and sample app processes on 127.0.0.1 for the tests.

Each server runs in the foreground as a child process with its own config and data directory under
a temporary directory, on a free port, with 1s scrape and evaluation intervals so tests are fast.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .paths import SAMPLE_APP, require_binary
from .servers import ServerProcess, free_port

PROMETHEUS_WHY = "Debian package prometheus"
PUSHGATEWAY_BINARIES = ("prometheus-pushgateway", "pushgateway")
NODE_EXPORTER_BINARIES = ("prometheus-node-exporter", "node_exporter")


def first_binary(names: tuple[str, ...], why: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return require_binary(names[0], why)


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(predicate, timeout: float, what: str, pause: float = 0.25):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(pause)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


Process = ServerProcess  # the monitoring tests' name for it


@dataclass
class PrometheusServer(Process):
    config_path: Path | None = None
    rule_paths: list[Path] = field(default_factory=list)

    def api(self, path: str, **params) -> dict:
        query = ("?" + urllib.parse.urlencode(params)) if params else ""
        status, body = http_get(f"{self.url}/api/v1/{path}{query}")
        payload = json.loads(body)
        assert status == 200, payload
        return payload["data"]

    def query(self, promql: str) -> list[dict]:
        return self.api("query", query=promql)["result"]

    def active_targets(self) -> list[dict]:
        return self.api("targets", state="active")["activeTargets"]

    def alerts(self) -> list[dict]:
        return self.api("alerts")["alerts"]

    def firing(self, alertname: str) -> list[dict]:
        return [a for a in self.alerts() if a["labels"].get("alertname") == alertname and a["state"] == "firing"]


def prometheus_config(
    app_targets: dict[str, int] | None = None,
    rule_files: list[str] | None = None,
    interval: str = "1s",
    extra_jobs: list[dict] | None = None,
) -> dict:
    """A Prometheus config: job ``sample_app`` scraping each ``{host: port}`` with a ``host`` label."""
    scrape_configs = []
    if app_targets:
        scrape_configs.append(
            {
                "job_name": "sample_app",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"host": host}} for host, port in app_targets.items()
                ],
            }
        )
    scrape_configs += extra_jobs or []
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": interval},
        "rule_files": rule_files or [],
        "scrape_configs": scrape_configs,
    }


def start_prometheus(workdir: Path, config: dict, rules: dict[str, str] | None = None) -> PrometheusServer:
    """Start ``prometheus`` with ``config`` (rule files named in ``rules`` are written next to it)."""
    binary = require_binary("prometheus", PROMETHEUS_WHY)
    workdir.mkdir(parents=True, exist_ok=True)
    rule_paths = []
    for name, text in (rules or {}).items():
        path = workdir / name
        path.write_text(text)
        rule_paths.append(path)
    config = dict(config, rule_files=[str(p) for p in rule_paths] + list(config.get("rule_files") or []))
    config_path = workdir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
        "--storage.tsdb.retention.time=1h",
    ]
    server = PrometheusServer("prometheus", argv, port, workdir, config_path=config_path, rule_paths=rule_paths)
    return server.start(ready="/-/ready")


def start_pushgateway(workdir: Path) -> Process:
    binary = first_binary(PUSHGATEWAY_BINARIES, "Debian package prometheus-pushgateway")
    port = free_port()
    return Process("pushgateway", [binary, f"--web.listen-address=127.0.0.1:{port}"], port, workdir).start(
        ready="/-/ready"
    )


def start_node_exporter(workdir: Path) -> Process:
    binary = first_binary(NODE_EXPORTER_BINARIES, "Debian package prometheus-node-exporter")
    port = free_port()
    argv = [
        binary,
        f"--web.listen-address=127.0.0.1:{port}",
        "--collector.disable-defaults",
        "--collector.loadavg",
        "--collector.meminfo",
    ]
    return Process("node_exporter", argv, port, workdir).start(ready="/metrics")


def prepare_database(path: Path) -> Path:
    """A SQLite database with the sample app's V migrations applied, so /items answers 200."""
    conn = sqlite3.connect(path)
    try:
        for script in sorted(
            (SAMPLE_APP / "migrations").glob("V*__*.sql"), key=lambda p: int(p.name[1:].split("__")[0])
        ):
            conn.executescript(script.read_text())
        conn.commit()
    finally:
        conn.close()
    return path


def start_sample_app(
    workdir: Path, port: int | None = None, error_rate: float = 0.0, name: str = "app", log_dir: Path | None = None
) -> Process:
    """The sample app as a foreground process, with its JSON logs in ``log_dir`` or ``workdir/<name>/logs``."""
    home = workdir / name
    home.mkdir(parents=True, exist_ok=True)
    database = home / "app.db"
    if not database.exists():
        prepare_database(database)
    port = port or free_port()
    argv = [
        sys.executable,
        "-m",
        "sample_app",
        "--port",
        str(port),
        "--database",
        str(database),
        "--error-rate",
        str(error_rate),
        "--log-dir",
        str(log_dir or home / "logs"),
    ]
    env = dict(os.environ, PYTHONPATH=str(SAMPLE_APP / "src"))
    process = Process(name, argv, port, home, env=env, log_name=f"{name}.out")
    process.start(timeout=20)
    return process


def generate_traffic(port: int, requests: int, path: str = "/items") -> dict[int, int]:
    """Send ``requests`` GET requests; return the count per status code."""
    counts: dict[int, int] = {}
    for _index in range(requests):
        status, _body = http_get(f"http://127.0.0.1:{port}{path}")
        counts[status] = counts.get(status, 0) + 1
    return counts


def push_metric(pushgateway_url: str, job: str, text: str) -> int:
    request = urllib.request.Request(
        f"{pushgateway_url}/metrics/job/{urllib.parse.quote(job, safe='')}",
        data=text.encode(),
        method="PUT",
        headers={"Content-Type": "text/plain; version=0.0.4"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status
