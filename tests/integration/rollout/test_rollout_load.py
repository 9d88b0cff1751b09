"""A rolling deploy (serial 1) across 3 local hosts under HTTP load: no failed request outside the batch.

Version A is deployed to app1..app3 first; then B is rolled out one host per batch while a load loop
sends GET /version to every host (one request every ~15 ms per host, bounded in count and time, on
127.0.0.1 only). app_rollout hooks on each host append ``<host> <hook> <time>`` to an events file:
``before_switch`` opens the host's switch window and ``after_health`` closes it (the service is
restarted and health-checked between the two).

Asserted: the batches never overlap; every failed request on a host lies inside that host's own
switch window (zero failures on hosts outside the current batch); every host ends on B. Measured:
the failure window on the host being switched, written to
benchmarks/results/rollout_failure_window.json (see docs/deploy.md, "Failure window during a
rolling deploy").
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.paths import ROOT, require_binary
from tests.support.playbook import run_playbook
from tests.support.rollout import get_json, local_inventory, publish, stop_hosts
from tests.support.servers import free_port

NAME = "conveyor-sample-app"
HOSTS = ("app1", "app2", "app3")
PACE = 0.015  # seconds between two requests to the same host
MAX_SECONDS = 90.0  # the load loop stops by itself after this, whatever happens
MAX_REQUESTS = 6000  # ... or after this many requests per host
RESULTS = ROOT / "benchmarks" / "results" / "rollout_failure_window.json"
# one line per hook call: "<host> <hook point> <unix time>"
EVENT_HOOK = "import sys, time\nwith open(sys.argv[1], 'a') as f:\n    f.write('%s %s %.6f\\n' % (sys.argv[2], sys.argv[3], time.time()))\n"


@dataclass
class Probe:
    start: float
    end: float
    ok: bool
    version: str | None = None
    error: str = ""


@dataclass
class Load:
    ports: dict
    stop: threading.Event = field(default_factory=threading.Event)
    probes: dict = field(default_factory=dict)

    def _one(self, port: int) -> Probe:
        start = time.time()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/version", headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read()
            end = time.time()
            if response.status != 200:
                return Probe(start, end, False, error=f"status {response.status}")
            return Probe(start, end, True, version=json.loads(body).get("version"))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return Probe(start, time.time(), False, error=type(exc).__name__)
        finally:
            connection.close()

    def _loop(self, host: str) -> None:
        probes = self.probes.setdefault(host, [])
        deadline = time.monotonic() + MAX_SECONDS
        while not self.stop.is_set() and time.monotonic() < deadline and len(probes) < MAX_REQUESTS:
            probe = self._one(self.ports[host])
            probes.append(probe)
            self.stop.wait(max(0.0, PACE - (probe.end - probe.start)))

    def __enter__(self):
        self.threads = [threading.Thread(target=self._loop, args=(h,), daemon=True) for h in self.ports]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)


@pytest.fixture
def env(tmp_path):
    state = tmp_path / "state"
    ports = {host: free_port() for host in HOSTS}
    inventory = local_inventory(tmp_path, state, ports)
    yield {"state": state, "ports": ports, "inventory": str(inventory), "tmp": tmp_path}
    stop_hosts(state)


def rolling_deploy(env, version: str, events: Path, strategy: str = "rolling"):
    hook = [sys.executable, "-c", EVENT_HOOK, str(events), "{{ inventory_hostname }}"]
    extra_vars = {
        # the group holding all three local hosts, one host per batch
        "deploy_environment": "app",
        "deploy_strategy": strategy,
        "deploy_serial": 1,
        "deploy_version": version,
        "deploy_hooks": {point: [[*hook, point]] for point in ("before_switch", "after_switch", "after_health")},
    }
    return run_playbook(ROOT / "playbooks" / "deploy.yml", inventory=env["inventory"], extra_vars=extra_vars)


def save_results(section: str, data: dict) -> None:
    """Merge one section into benchmarks/results/rollout_failure_window.json when CONVEYOR_SAVE_RESULTS=1
    (a measurement run); a normal test run only prints the numbers, so it leaves the checkout clean."""
    print(json.dumps(data, indent=2))
    if os.environ.get("CONVEYOR_SAVE_RESULTS") != "1":
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        report = json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        report = {}
    report[section] = data
    report["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    RESULTS.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


def switch_windows(events: Path) -> dict:
    """host -> (before_switch time, after_switch time, after_health time) of its single switch."""
    seen: dict = {}
    for line in events.read_text().splitlines():
        host, point, stamp = line.split()
        seen.setdefault(host, {})[point] = float(stamp)
    return {host: (p["before_switch"], p["after_switch"], p["after_health"]) for host, p in seen.items()}


def failure_window(probes: list[Probe], window: tuple) -> dict:
    """Failures of one host during its switch: first failure to last failure, and the unavailable span."""
    failures = [p for p in probes if not p.ok]
    if not failures:
        return {"failed_requests": 0, "failure_window_ms": 0.0, "unavailable_ms": 0.0}
    first, last = failures[0], failures[-1]
    before = [p for p in probes if p.ok and p.end <= first.start]
    after = [p for p in probes if p.ok and p.start >= last.end]
    return {
        "failed_requests": len(failures),
        "errors": sorted({p.error for p in failures}),
        # from the start of the first failed request to the end of the last one
        "failure_window_ms": round((last.end - first.start) * 1000, 1),
        # from the last answer before to the first answer after: an upper bound of the outage
        "unavailable_ms": round(
            ((after[0].end if after else last.end) - (before[-1].end if before else first.start)) * 1000, 1
        ),
        "switch_to_healthy_ms": round((window[2] - window[1]) * 1000, 1),
    }


def test_rolling_deploy_under_load_fails_requests_only_on_the_host_being_switched(env, releases):
    repo = env["state"] / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, NAME, version, releases[version])
    first = rolling_deploy(env, "1.0.0", env["tmp"] / "events-a.log")
    assert first.rc == 0, first.output
    assert {
        h: get_json(f"http://127.0.0.1:{p}/version")[1]["version"] for h, p in env["ports"].items()
    } == dict.fromkeys(HOSTS, "1.0.0")

    events = env["tmp"] / "events-b.log"
    with Load(env["ports"]) as load:
        time.sleep(0.5)  # every host answers A before the rollout starts
        started = time.time()
        second = rolling_deploy(env, "2.0.0", events)
        finished = time.time()
        time.sleep(0.5)
    assert second.rc == 0, second.output
    windows = switch_windows(events)
    assert sorted(windows) == sorted(HOSTS), events.read_text()

    # serial 1: one host at a time, in inventory order
    ordered = sorted(windows.items(), key=lambda item: item[1][0])
    for (_host_a, win_a), (_host_b, win_b) in itertools.pairwise(ordered):
        assert win_a[2] < win_b[0], f"batches overlap: {ordered}"

    report = {}
    for host, probes in load.probes.items():
        begin, _switched, healthy = windows[host]
        assert len(probes) > 100, f"{host}: the load loop sent only {len(probes)} requests"
        outside = [p for p in probes if not p.ok and (p.end < begin or p.start > healthy)]
        assert outside == [], f"{host}: {len(outside)} failed requests outside its own batch, first {outside[0]}"
        versions_before = {p.version for p in probes if p.ok and p.end < begin}
        versions_after = {p.version for p in probes if p.ok and p.start > healthy}
        assert versions_before == {"1.0.0"} and versions_after == {"2.0.0"}, (host, versions_before, versions_after)
        others = [w for h, w in windows.items() if h != host]
        during_others = [p for p in probes if any(w[0] <= p.start <= w[2] for w in others)]
        assert during_others and all(p.ok for p in during_others)
        report[host] = {
            "requests": len(probes),
            "requests_while_other_hosts_switched": len(during_others),
            **failure_window(probes, windows[host]),
        }

    windows_ms = [r["failure_window_ms"] for r in report.values()]
    save_results(
        "rolling_command_manager",
        {
            "what": "rolling deploy (serial 1) of the sample app to 3 local hosts under HTTP load, command manager",
            "pace_ms": PACE * 1000,
            "rollout_seconds": round(finished - started, 2),
            "hosts": report,
            "failed_outside_batch": 0,
            "failure_window_ms": {
                "min": min(windows_ms),
                "median": statistics.median(windows_ms),
                "max": max(windows_ms),
            },
        },
    )


def test_blue_green_deploy_under_load_fails_no_request_through_the_proxy(env, releases):
    """The same rollout with blue_green: the load goes through each host's nginx; the switch is a reload."""
    require_binary("nginx", "blue_green puts nginx in front of the two slots")
    proxies = {}
    (Path(env["inventory"]) / "host_vars").mkdir()
    for host in HOSTS:
        proxies[host] = free_port()
        slots = {"blue": free_port(), "green": free_port()}
        (Path(env["inventory"]) / "host_vars" / f"{host}.yml").write_text(
            json.dumps({"deploy_proxy_port": proxies[host], "deploy_blue_green_ports": slots})
        )
    repo = env["state"] / "artifacts" / "staging"
    for version in ("1.0.0", "2.0.0"):
        publish(repo, NAME, version, releases[version])
    first = rolling_deploy(env, "1.0.0", env["tmp"] / "events-a.log", strategy="blue_green")
    assert first.rc == 0, first.output

    with Load(proxies) as load:
        time.sleep(0.5)
        started = time.time()
        second = rolling_deploy(env, "2.0.0", env["tmp"] / "events-b.log", strategy="blue_green")
        finished = time.time()
        time.sleep(0.5)
    assert second.rc == 0, second.output

    report = {}
    for host, probes in load.probes.items():
        assert len(probes) > 100, f"{host}: the load loop sent only {len(probes)} requests"
        failures = [p for p in probes if not p.ok]
        assert failures == [], f"{host}: {len(failures)} failed requests through the proxy, first {failures[0]}"
        versions = [p.version for p in probes]
        assert versions[0] == "1.0.0" and versions[-1] == "2.0.0", (host, versions[0], versions[-1])
        first_b = versions.index("2.0.0")
        report[host] = {
            "requests": len(probes),
            "failed_requests": 0,
            # answers of the old slot after the first answer of the new one (in-flight during the reload)
            "old_answers_after_switch": versions[first_b:].count("1.0.0"),
        }
    save_results(
        "blue_green_nginx",
        {
            "what": "blue_green deploy (serial 1) to 3 local hosts, load through each host's nginx proxy",
            "pace_ms": PACE * 1000,
            "rollout_seconds": round(finished - started, 2),
            "hosts": report,
            "failure_window_ms": 0.0,
        },
    )
