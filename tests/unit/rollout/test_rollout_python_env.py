"""app_rollout's python_env: the environment at the release's final path, from the wheelhouse, offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._rollout import Layout, current_release, read_state, rollout
from ansible_collections.conveyor.cicd.plugins.module_utils._service import read_pid, stop_pid
from ansible_collections.conveyor.cicd.plugins.module_utils._wheelhouse import ENV_MARKER, PythonEnv, build_wheelhouse
from tests.support.servers import free_port
from tests.unit.ci.pyapp import app_project, build_wheel, dep_project, make_artifact


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """Artifacts with a wheelhouse: 1.0.0 and 2.0.0 (healthy), a broken 3.0.0 (its code imports a missing module),
    and 4.0.0 whose wheelhouse lacks the dependency."""
    base = tmp_path_factory.mktemp("pyapp-artifacts")
    links = base / "links"
    build_wheel(dep_project(base), links)
    out = {}
    for version, broken in (("1.0.0", False), ("2.0.0", False), ("3.0.0", True)):
        wheel = build_wheel(app_project(base, version, broken=broken), base / f"dist-{version}")
        wheelhouse = base / f"wh-{version}"
        build_wheelhouse(str(wheelhouse), str(wheel), find_links=[str(links)], no_index=True)
        out[version] = make_artifact(base / f"tinyapp-{version}.tar.gz", wheelhouse, {"VERSION": version})
    lonely = base / "wh-4.0.0"
    lonely.mkdir()
    wheel = build_wheel(app_project(base, "4.0.0"), base / "dist-4.0.0")
    (lonely / wheel.name).write_bytes(wheel.read_bytes())
    out["4.0.0"] = make_artifact(base / "tinyapp-4.0.0.tar.gz", lonely, {"VERSION": "4.0.0"})
    return out


@pytest.fixture
def spot(tmp_path):
    root = tmp_path / "deploy"
    yield {"root": root, "port": free_port()}
    pid = read_pid(str(root / "shared" / "app.pid"))
    if pid:
        stop_pid(pid, None, 5)


def params(spot, artifact, version, **extra) -> dict:
    base = {
        "root": str(spot["root"]),
        "artifact_path": str(artifact),
        "version": version,
        "python_env": {},
        "service": {
            "manager": "command",
            # the console script of the release's own environment; it writes no pid file: the manager does
            "start": ["{release_path}/.venv/bin/tinyapp-serve", str(spot["port"])],
            "pid_file": "{shared}/app.pid",
            "log_file": "{shared}/service.log",
            "start_timeout": 10,
        },
        "health": {
            "url": f"http://127.0.0.1:{spot['port']}/health",
            "body_contains": "ok {version} pong",
            "retries": 30,
            "delay": 0.1,
        },
    }
    base.update(extra)
    return base


def served(spot) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{spot['port']}/health", timeout=3) as answer:
        return answer.read().decode()


def test_the_env_is_built_at_the_final_path_and_its_console_scripts_run(spot, artifacts):
    result = rollout(params(spot, artifacts["1.0.0"], "1.0.0"))
    release = spot["root"] / "releases" / result["release_id"]
    venv = release / ".venv"
    assert result["python_env"]["built"] is True and result["python_env"]["path"] == str(venv)
    assert result["health"]["ok"] is True and served(spot) == "ok 1.0.0 pong"
    assert (venv / ENV_MARKER).is_file()
    script = spot["root"] / "current" / ".venv" / "bin" / "tinyapp-hello"
    assert script.read_text().splitlines()[0] == f"#!{venv}/bin/python"  # the release's path, never .staging
    hello = subprocess.run([str(script)], capture_output=True, text=True, check=True, cwd="/")
    assert hello.stdout.strip() == "hello from tinydep to tinyapp 1.0.0"
    assert not (spot["root"] / ".staging").exists()
    # a rerun changes nothing; check mode says so too
    for check_mode in (True, False):
        again = rollout(params(spot, artifacts["1.0.0"], "1.0.0"), check_mode=check_mode)
        assert again["changed"] is False and again["restarted"] is False


def test_check_mode_says_the_env_would_be_built(spot, artifacts):
    rollout(params(spot, artifacts["1.0.0"], "1.0.0"))
    predicted = rollout(params(spot, artifacts["2.0.0"], "2.0.0"), check_mode=True)
    assert predicted["changed"] is True
    assert predicted["python_env"]["built"] is True
    assert predicted["python_env"]["path"].endswith(f"releases/{predicted['release_id']}/.venv")
    assert not os.path.isdir(spot["root"] / "releases" / predicted["release_id"])
    assert served(spot) == "ok 1.0.0 pong"


def test_a_release_whose_env_cannot_be_built_is_not_switched_to(spot, artifacts):
    first = rollout(params(spot, artifacts["1.0.0"], "1.0.0"))
    with pytest.raises(ConveyorError) as caught:
        rollout(params(spot, artifacts["4.0.0"], "4.0.0"))
    message = caught.value.msg
    assert "Python environment of release 4.0.0-" in message and "pip install failed" in message
    assert "tinydep" in message and "\n" not in message
    assert f"{first['release_id']} is still serving" in message
    assert current_release(Layout(str(spot["root"]))) == first["release_id"]
    assert served(spot) == "ok 1.0.0 pong"
    failed = [item for item in read_state(Layout(str(spot["root"])))["releases"] if item["version"] == "4.0.0"]
    assert failed[0]["status"] == "failed"


def test_a_killed_runs_half_made_env_is_removed_and_rebuilt(tmp_path, artifacts):
    release = tmp_path / "release"
    release.mkdir()
    subprocess.run(["tar", "-xzf", str(artifacts["1.0.0"]), "-C", str(release)], check=True)
    env = PythonEnv({})
    (release / ".venv" / "bin").mkdir(parents=True)
    (release / ".venv" / "bin" / "leftover").write_text("half-made")
    assert env.complete(str(release)) is False
    assert env.ensure(str(release), check_mode=True)["built"] is True
    assert (release / ".venv" / "bin" / "leftover").exists()  # check mode touches nothing
    report = env.ensure(str(release))
    assert report["built"] is True and not (release / ".venv" / "bin" / "leftover").exists()
    marker = json.loads((release / ".venv" / ENV_MARKER).read_text())
    assert marker["path"] == str(release / ".venv")
    assert env.ensure(str(release))["built"] is False
    hello = subprocess.run(
        [str(release / ".venv" / "bin" / "tinyapp-hello")], capture_output=True, text=True, check=False
    )
    assert hello.returncode == 0, hello.stderr


def test_a_health_failure_shows_the_apps_error_line(spot, artifacts):
    first = rollout(params(spot, artifacts["1.0.0"], "1.0.0"))
    bad = params(spot, artifacts["3.0.0"], "3.0.0")
    # the service exits at once: the check ends on that, not after 200 retries
    bad["health"] = dict(bad["health"], retries=200)
    with pytest.raises(ConveyorError) as caught:
        rollout(bad)
    message = caught.value.msg
    assert "health check of release 3.0.0-" in message
    assert "; the service exited with 1)" in message, message
    attempts = int(re.search(r"failed after (\d+) attempts", message).group(1))
    assert attempts < 200, message
    assert "service log: ModuleNotFoundError: No module named 'missing_module_xyz'" in message
    assert f"rolled back to {first['release_id']}" in message
    assert caught.value.details["service_log"].startswith("ModuleNotFoundError")
    assert served(spot) == "ok 1.0.0 pong"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"path": "../elsewhere"}, "python_env.path '../elsewhere' must be a path inside the release"),
        ({"wheelhouse": "/abs"}, "python_env.wheelhouse '/abs' must be a path inside the release"),
        ({"requirements": "app"}, "python_env.requirements must be a non-empty list"),
        ({"requirements": ["--index-url=http://x"]}, "must be a requirement"),
        ({"python": "/nonexistent/python3"}, None),
    ],
)
def test_bad_python_env_is_one_line(tmp_path, spec, message):
    if message is None:  # the interpreter is looked up when the env is built
        (tmp_path / "wheelhouse").mkdir()
        (tmp_path / "wheelhouse" / "a-1-py3-none-any.whl").write_bytes(b"x")
        with pytest.raises(ConveyorError, match="python /nonexistent/python3 does not exist"):
            PythonEnv(spec).ensure(str(tmp_path))
        return
    with pytest.raises(ConveyorError, match=message.replace("[", r"\[").replace(".", r"\.")):
        PythonEnv(spec)


def test_a_release_without_a_wheelhouse_says_what_to_do(tmp_path):
    with pytest.raises(ConveyorError, match="the release has no wheelhouse/ directory"):
        PythonEnv({}).ensure(str(tmp_path))


def test_sys_executable_is_the_default_interpreter(tmp_path):
    (tmp_path / "wheelhouse").mkdir()
    (tmp_path / "wheelhouse" / "a-1-py3-none-any.whl").write_bytes(b"x")
    assert PythonEnv({}).ensure(str(tmp_path), check_mode=True)["python"] == sys.executable
