"""A real third-party application through the whole pipeline: pypiserver 2.3.2, as docs/own-app.md describes it.

The setup fetches the pinned sdist from the package index (pip checks its sha256), makes it a git work tree as its
team would have it (its sources, a lock file of its runtime dependencies) and prepares the environment its own test
suite runs in. The inventory sets only the variables docs/own-app.md documents: the application description and
the local hosts. Then, in order:

1. the pipeline: lint, build, its 489 tests, package (code and wheelhouse), release, publish, provision, deploy
   with its dependencies to the three local hosts, monitoring and feedback;
2. the pipeline again: nothing changes;
3. a release that dropped a runtime dependency: the production canary fails its health check, quoting the app's
   own error line, and goes back to the good release;
4. a release whose health degrades after a few answers: the canary passes its health check, fails the re-check,
   and is rolled back;
5. the same release with a little more health: it passes the re-check and fails the metric gate (for an app
   without metrics, the gate's health probe), and is rolled back;
and the deployed index serves ``pip download``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import urllib.request
import venv
from pathlib import Path

import pytest
import yaml

from tests.support.paths import ROOT
from tests.support.pipeline import stop_services
from tests.support.playbook import noise_in, run_playbook
from tests.support.rollout import failures, version_statuses
from tests.support.servers import free_port

SDIST = "pypiserver-2.3.2.tar.gz"
SDIST_PIN = "pypiserver==2.3.2 --hash=sha256:d2b16b12a667a9f356f1b022e039d5ad2c33a76986bb2fdb3f18633dbb1afca3\n"
# what its test suite and its build need (its tox/requirements files name them; pinned here)
TEST_REQUIREMENTS = [
    "pytest==9.2.0",
    "WebTest==3.0.7",
    "passlib==1.7.4",
    "httpx==0.29.0",
    "twine==7.0.0",
    "build==1.6.1",
    "setuptools==70.3.0",
    "wheel==0.45.1",
    "setuptools-git==1.2",
    "packaging==26.4",
    "importlib_resources==6.5.2",
]
# the runtime dependencies of setup.py, locked: what the wheelhouse ships to the hosts
LOCK = 'packaging==26.4\npip==25.3\nimportlib_resources==6.5.2 ; python_version < "3.12"\n'
GIT = {
    "GIT_AUTHOR_NAME": "Pypiserver Team",
    "GIT_AUTHOR_EMAIL": "team@example.org",
    "GIT_COMMITTER_NAME": "Pypiserver Team",
    "GIT_COMMITTER_EMAIL": "team@example.org",
}
HOSTS = ("app1", "app2", "app3")
# the release that drops importlib_resources breaks pypiserver only where it needs it: Python < 3.12 (the default
# virtualenv of the test suite, where the e2e stage runs)
pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="the missing-dependency release needs Python < 3.12"
)
# a drill: the health endpoint answers 200 PYPISERVER_HEALTH_BUDGET times, then 503 (unset: always 200, so the
# project's own tests still pass and CI lets the release through)
DEGRADING_HEALTH = """
    def _setup_health_endpoint(app, config):
        if config.health_endpoint in [route.rule for route in app.routes]:
            raise RuntimeError(
                "Provided health endpoint overlaps with existing routes"
            )
        import os

        from pypiserver.bottle import HTTPError

        budget = os.environ.get("PYPISERVER_HEALTH_BUDGET")
        answered = []

        def health():
            answered.append(1)
            if budget and len(answered) > int(budget):
                raise HTTPError(503, "Unhealthy")
            return "Ok"

        app.route(config.health_endpoint, "GET", health)
"""
ORIGINAL_HEALTH = """
    def _setup_health_endpoint(app, config):
        if config.health_endpoint in [route.rule for route in app.routes]:
            raise RuntimeError(
                "Provided health endpoint overlaps with existing routes"
            )
        app.route(config.health_endpoint, "GET", lambda: "Ok")
"""


def git(app: Path, *args: str) -> str:
    env = dict(os.environ, **GIT)
    done = subprocess.run(["git", "-C", str(app), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


def pip(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "-q", *args], check=True, capture_output=True, text=True)


def fetch_sdist(directory: Path) -> Path:
    """The pinned sdist from the package index; pip refuses it when its sha256 differs."""
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / SDIST).is_file():
        pins = directory / "sdist.txt"
        pins.write_text(SDIST_PIN)
        pip(
            Path(sys.executable),
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--require-hashes",
            "-r",
            str(pins),
            "-d",
            str(directory),
        )
    return directory / SDIST


def test_environment(directory: Path) -> Path:
    """A virtualenv with what pypiserver's build and test suite need (kept between runs of this module)."""
    python = directory / "bin" / "python"
    stamp = directory / "requirements.txt"
    wanted = "\n".join(TEST_REQUIREMENTS) + "\n"
    if not (python.exists() and stamp.is_file() and stamp.read_text() == wanted):
        venv.create(directory, with_pip=True, clear=True)
        pip(python, "install", *TEST_REQUIREMENTS)
        stamp.write_text(wanted)
    return python


test_environment.__test__ = False  # a helper, not a test


def make_app(sdist: Path, app: Path) -> None:
    """The sdist as its team's git work tree: its sources and a committed lock file, tagged v2.3.2."""
    with tarfile.open(sdist) as archive:
        archive.extractall(app.parent, filter="data")
    (app.parent / "pypiserver-2.3.2").rename(app)
    (app / "PKG-INFO").unlink()
    for info in app.glob("*.egg-info"):
        for item in sorted(info.rglob("*"), reverse=True):
            item.unlink() if item.is_file() else item.rmdir()
        info.rmdir()
    (app / "requirements.lock").write_text(LOCK)
    git(app, "init", "-q", "-b", "main")
    git(app, "add", "-A")
    git(app, "commit", "-q", "-m", "chore: pypiserver 2.3.2")
    git(app, "tag", "v2.3.2")


def write_inventory(base: Path, app: Path, test_python: Path) -> tuple[Path, dict]:
    """An inventory for the three local hosts that sets only the variables docs/own-app.md names."""
    inventory = base / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    ports = {host: free_port() for host in HOSTS}
    controller = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {
        "all": {
            "children": {
                "controller": {"hosts": {"localhost": controller}},
                "app": {
                    "children": {
                        "staging": {"hosts": {"app1": {"deploy_port": ports["app1"]}}},
                        "production": {"hosts": {h: {"deploy_port": ports[h]} for h in ("app2", "app3")}},
                    }
                },
            }
        }
    }
    state = base / "state"
    description = {
        "conveyor_app_dir": str(app),
        "conveyor_app_name": "pypiserver",
        "conveyor_state_dir": str(state),
        "conveyor_version_files": [],
        # CI: its own environment, ruff for syntax errors only (its code base predates ruff), its whole suite
        "ci_python": str(test_python),
        "ci_test_env": {"PATH": f"{test_python.parent}{os.pathsep}{os.environ['PATH']}"},
        "ci_lint_tools": [{"name": "ruff", "args": ["--select", "E9,F63,F7"]}],
        "ci_test_suites": [
            {
                "name": "unit",
                "command": [
                    "{{ ci_python }}",
                    "-m",
                    "pytest",
                    "tests",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    "-W",
                    "ignore",
                    "--junitxml={junit_xml}",
                ],
            }
        ],
        "conveyor_app_requirements": "requirements.lock",
        "deploy_shared_paths": ["logs/", "run/", "packages/"],
        "deploy_service": {
            "manager": "command",
            "start": ["{release_path}/.venv/bin/pypi-server", "run", "-p", "{{ deploy_port }}", "{shared}/packages"],
            "pid_file": "{shared}/run/app.pid",
            "log_file": "{shared}/logs/service.log",
        },
        "deploy_health_path": "/health",
        "deploy_health_version_path": "",
        "monitoring_app_metrics_path": "",
        "deploy_canary_metrics_gate": True,
        "monitoring_prometheus_port": free_port(),
    }
    app_hosts = {
        "ansible_connection": "local",
        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
        "deploy_root": "{{ conveyor_state_dir }}/hosts/{{ inventory_hostname }}",
        "deploy_health_retries": 40,
        "deploy_health_delay": 0.25,
        "deploy_canary_check_delay": 0.2,
        "deploy_canary_metrics_url": "http://127.0.0.1:{{ monitoring_prometheus_port }}",
        "logging_mode": "user",
        "logging_app_log_dir": "{{ deploy_root }}/shared/logs",
        "logging_base_dir": "{{ conveyor_state_dir }}/logging/{{ inventory_hostname }}",
    }
    monitoring = {
        "monitoring_service_manager": "command",
        "monitoring_base_dir": "{{ conveyor_state_dir }}/monitoring",
        "monitoring_pushgateway_port": free_port(),
        "monitoring_node_exporter_port": free_port(),
        "monitoring_gate_when_unavailable": "skip",
    }
    files = {
        "all.yml": description,
        "app.yml": app_hosts,
        "controller.yml": monitoring,
        "staging.yml": {"deploy_environment": "staging", "deploy_strategy": "rolling"},
        "production.yml": {"deploy_environment": "production", "deploy_strategy": "canary"},
    }
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False))
    for name, data in files.items():
        (inventory / "group_vars" / name).write_text(yaml.safe_dump(data, sort_keys=False))
    return inventory, {"ports": ports, "state": state, "service": description["deploy_service"]}


def health(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except OSError as exc:
        return getattr(exc, "code", 0), str(exc)


def current(root: Path) -> str:
    return (root / "current").resolve().name


def rolled_back_canary(shipped, run) -> str:
    """Assert that ``run`` failed on the canary app2 alone, which serves the good release again, as app3 always
    did; return the canary's failure message."""
    assert run.rc != 0
    failed = failures(run)
    assert list(failed) == ["app2"], failed
    roots = shipped["roots"]
    assert current(roots["app2"]) == shipped["good"]["app2"]
    assert health(shipped["ports"]["app2"]) == (200, "Ok")
    assert current(roots["app3"]) == shipped["good"]["app3"]
    return failed["app2"]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    base = tmp_path_factory.mktemp("own-app")
    cache = ROOT / ".cache" / "e2e"
    app = base / "pypiserver"
    make_app(fetch_sdist(cache / "downloads"), app)
    test_python = test_environment(cache / "pypiserver-test-env")
    inventory, info = write_inventory(base, app, test_python)
    hosts = str(inventory / "hosts.yml")
    state = info["state"]
    roots = {host: state / "hosts" / host for host in HOSTS}
    playbooks = ROOT / "playbooks"
    production = ("-e", "deploy_environment=production")
    # as a user runs it: the pipeline events are recorded (ansible.cfg turns the callback on)
    events = {
        "ANSIBLE_CALLBACKS_ENABLED": "conveyor.cicd.pipeline_events",
        "CONVEYOR_EVENTS_DB": str(base / "events.db"),
    }
    runs: dict = {"app": app, "state": state, "roots": roots, "ports": info["ports"]}
    try:
        runs["first"] = run_playbook(ROOT / "pipeline.yml", inventory=hosts, env=events, timeout=1200)
        record = state / "release" / "current.manifest.json"
        runs["first_record"] = json.loads(record.read_text()) if record.is_file() else {}
        runs["good"] = {host: current(roots[host]) for host in HOSTS if (roots[host] / "current").exists()}
        runs["second"] = run_playbook(ROOT / "pipeline.yml", inventory=hosts, env=events, timeout=1200)

        # 3. a release that dropped a runtime dependency its code still needs on Python < 3.12
        setup = app / "setup.py"
        setup.write_text(
            setup.read_text().replace(
                "    \"importlib_resources;python_version>'3.8' and python_version<'3.12'\",\n", ""
            )
        )
        (app / "requirements.lock").write_text("packaging==26.4\npip==25.3\n")
        git(app, "commit", "-qam", "fix: rely on the standard library for resources")
        # the stages up to production, as one playbook (one result to read)
        to_production = base / "to_production.yml"
        to_production.write_text(
            yaml.safe_dump(
                [
                    {"name": name, "ansible.builtin.import_playbook": str(playbooks / name)}
                    for name in ("ci.yml", "package.yml", "publish.yml", "deploy.yml")
                ],
                sort_keys=False,
            )
        )
        runs["missing_dependency"] = run_playbook(to_production, *production, inventory=hosts, env=events, timeout=1200)

        # 4. and 5. a release whose health endpoint degrades after a number of answers
        git(app, "revert", "--no-edit", "HEAD")
        init = app / "pypiserver" / "__init__.py"
        assert ORIGINAL_HEALTH in init.read_text()
        init.write_text(init.read_text().replace(ORIGINAL_HEALTH, DEGRADING_HEALTH))
        git(app, "commit", "-qam", "feat: a health endpoint that can degrade")

        def with_budget(answers: int) -> dict:
            service = dict(info["service"], environment={"PYPISERVER_HEALTH_BUDGET": str(answers)})
            return {"deploy_service": service}

        # the rollout's own health check takes one answer; the re-check wants deploy_canary_checks (3) more
        runs["recheck"] = run_playbook(
            to_production, *production, inventory=hosts, env=events, extra_vars=with_budget(1), timeout=1200
        )
        runs["gate"] = run_playbook(
            playbooks / "deploy.yml", *production, inventory=hosts, env=events, extra_vars=with_budget(4), timeout=600
        )
        runs["feedback"] = run_playbook(playbooks / "feedback.yml", inventory=hosts, env=events, timeout=600)
        yield runs
    finally:
        # every run's whole output, beside the test's files, for whoever reads a failure
        for key, run in runs.items():
            if hasattr(run, "output"):
                (base / f"{key}.log").write_text(run.output)
        stop_services(state)


def test_the_first_run_builds_tests_and_deploys_pypiserver_to_the_three_hosts(shipped):
    first = shipped["first"]
    assert first.rc == 0, first.output[-5000:]
    stages = {s["stage"]: s for s in first.result("Collect the stage results")["ansible_facts"]["ci_result"]}
    assert [stages[s]["result"] for s in ("lint", "build", "test:unit")] == ["ok", "ok", "passed"], stages
    # its whole suite ran; the release manifest carries the counts
    record = shipped["first_record"]
    unit = record["tests"]["unit"]
    assert (unit["tests"], unit["failed"], unit["errors"]) == (489, 0, 0), unit
    for host in HOSTS:
        root = shipped["roots"][host]
        assert health(shipped["ports"][host]) == (200, "Ok"), host
        # the release's own environment, built at its final path: its console script runs from there
        script = root / "current" / ".venv" / "bin" / "pypi-server"
        assert script.read_text().splitlines()[0] == f"#!{root / 'releases' / current(root) / '.venv' / 'bin'}/python"
        deployed = first.result("Roll out the release", host=host)["conveyor_deploy"]["version"]
        assert deployed.startswith("2.3.2-dev.g"), deployed


def test_the_artifact_holds_the_code_and_the_wheelhouse(shipped):
    record = shipped["first_record"]
    assert record["name"] == "pypiserver"
    stored = shipped["state"] / "artifacts" / "staging" / "pypiserver" / record["version"]
    with tarfile.open(stored / f"pypiserver-{record['version']}.tar.gz") as archive:
        names = set(archive.getnames())
    assert {"setup.py", "pypiserver/__init__.py", "pypiserver/_app.py", "requirements.lock"} <= names
    wheels = sorted(n.split("/")[1].split("-")[0] for n in names if n.startswith("wheelhouse/") and n.endswith(".whl"))
    assert wheels == ["importlib_resources", "packaging", "pip", "pypiserver"], wheels


def test_the_second_run_changes_nothing(shipped):
    second = shipped["second"]
    assert second.rc == 0, second.output[-5000:]
    changed = {host: stats["changed"] for host, stats in second.stats.items()}
    assert changed == {"localhost": 0, "app1": 0, "app2": 0, "app3": 0}, [
        (host, t["_task"]) for host in changed for t in second.tasks(host) if t.get("changed")
    ]
    stages = {s["stage"]: s["result"] for s in second.result("Collect the stage results")["ansible_facts"]["ci_result"]}
    assert stages == {"lint": "cached", "build": "cached", "test:unit": "cached"}, stages
    assert {host: current(shipped["roots"][host]) for host in HOSTS} == shipped["good"]


def test_the_migration_stage_says_why_it_is_skipped(shipped):
    said = shipped["first"].result("Say why the migrations are skipped")["msg"]
    assert said.startswith("Database migration skipped: the application has no migrations directory"), said


def test_no_run_prints_a_warning_or_a_traceback(shipped):
    for key in ("first", "second", "missing_dependency", "recheck", "gate"):
        run = shipped[key]
        assert noise_in(run) == [], key
        assert [line for line in run.output.splitlines() if "[WARNING]" in line] == [], key


def test_a_release_missing_a_dependency_fails_the_canary_health_check_and_is_rolled_back(shipped):
    message = rolled_back_canary(shipped, shipped["missing_dependency"])
    # the app's own error line, from its log
    assert "invalid html_file_arg value" in message, message
    # it exited at once: the check stopped there, without waiting out its 40 retries
    assert "the service exited with 2" in message, message
    assert "rolled back to 2.3.2-dev.g" in message, message


def test_a_release_failing_the_recheck_is_rolled_back(shipped):
    run = shipped["recheck"]
    message = rolled_back_canary(shipped, run)
    assert message.startswith("canary app2 failed its checks"), message
    assert "it was rolled back to 2.3.2-dev.g" in message, message
    # an edit of pypiserver/__init__.py (outside any src/ layout) is rebuilt and retested, never a cached result
    stages = {x["stage"]: x["result"] for x in run.result("Collect the stage results")["ansible_facts"]["ci_result"]}
    assert stages == {"lint": "ok", "build": "ok", "test:unit": "passed"}, stages
    rechecked = run.result("Re-check the canary", host="app2")
    assert rechecked.get("failed"), rechecked


def test_a_release_failing_the_metric_gate_is_rolled_back(shipped):
    run = shipped["gate"]
    message = rolled_back_canary(shipped, run)
    assert message.startswith("canary app2 failed its checks"), message
    assert not run.result("Re-check the canary", host="app2").get("failed")
    assert run.result("Probe the application's health URL before gating", host="app2").get("failed")
    good = shipped["first"].result("Roll out the release", host="app2")["conveyor_deploy"]["version"]
    bad = run.result("Roll out the release", host="app2")["conveyor_deploy"]["version"]
    statuses = version_statuses(shipped["roots"]["app2"])
    assert (statuses[good], statuses[bad]) == ("active", "rolled_back"), statuses


def test_the_failed_canaries_count_in_the_change_failure_rate(shipped):
    run = shipped["feedback"]
    assert run.rc == 0, run.output[-3000:]
    dora = run.result("Record the feedback result")["ansible_facts"]["feedback_result"]["dora"]
    assert dora["environment"] == "production"
    # the good release, then three canaries that failed and went back: the missing dependency, the re-check, the gate
    failure_rate = dora["change_failure_rate"]
    assert (failure_rate["deployments"], failure_rate["failed_deployments"]) == (4, 3), failure_rate


def test_pip_downloads_from_the_deployed_index(shipped, tmp_path):
    root = shipped["roots"]["app1"]
    wheel = next((root / "current" / "wheelhouse").glob("packaging-*.whl"))
    (root / "shared" / "packages" / wheel.name).write_bytes(wheel.read_bytes())
    # only the deployed index: no configuration file or PIP_* variable of this machine may add another
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    index = f"http://127.0.0.1:{shipped['ports']['app1']}/simple/"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--index-url",
            index,
            "-d",
            str(tmp_path),
            "packaging==26.4",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / wheel.name).read_bytes() == wheel.read_bytes()
