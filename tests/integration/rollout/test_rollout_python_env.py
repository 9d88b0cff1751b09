"""app_rollout python_env through real ansible-playbook runs: the venv in the release, built offline."""

from __future__ import annotations

import subprocess
import urllib.request

from ansible_collections.conveyor.cicd.plugins.module_utils._service import read_pid, stop_pid
from ansible_collections.conveyor.cicd.plugins.module_utils._wheelhouse import build_wheelhouse
from tests.support.playbook import run_tasks
from tests.support.servers import free_port
from tests.unit.ci.pyapp import app_project, build_wheel, dep_project, make_artifact


def test_an_app_with_a_dependency_deploys_offline_and_its_console_scripts_run(tmp_path):
    links = tmp_path / "links"
    build_wheel(dep_project(tmp_path), links)
    wheel = build_wheel(app_project(tmp_path), tmp_path / "dist")
    build_wheelhouse(str(tmp_path / "wh"), str(wheel), find_links=[str(links)], no_index=True)
    artifact = make_artifact(tmp_path / "tinyapp-1.0.0.tar.gz", tmp_path / "wh")
    root, port = tmp_path / "deploy", free_port()
    task = {
        "name": "Deploy",
        "conveyor.cicd.app_rollout": {
            "root": str(root),
            "artifact_path": str(artifact),
            "version": "1.0.0",
            "python_env": {"wheelhouse": "wheelhouse"},
            "service": {
                "manager": "command",
                "start": ["{release_path}/.venv/bin/tinyapp-serve", str(port)],
                "pid_file": "{shared}/app.pid",
                "log_file": "{shared}/service.log",
            },
            "health": {"url": f"http://127.0.0.1:{port}/health", "body_contains": "ok 1.0.0 pong", "delay": 0.1},
        },
    }
    try:
        predicted = run_tasks(tmp_path, [task], check=True)
        assert predicted.rc == 0, predicted.output
        assert predicted.result("Deploy")["python_env"]["built"] is True
        run = run_tasks(tmp_path, [task])
        assert run.rc == 0, run.output
        result = run.result("Deploy")
        assert result["python_env"]["built"] is True and result["health"]["ok"] is True
        hello = subprocess.run(
            [str(root / "current" / ".venv" / "bin" / "tinyapp-hello")], capture_output=True, text=True, check=True
        )
        assert hello.stdout.strip() == "hello from tinydep to tinyapp 1.0.0"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as answer:
            assert answer.read() == b"ok 1.0.0 pong"
        again = run_tasks(tmp_path, [task])
        assert again.rc == 0 and again.result("Deploy")["changed"] is False
    finally:
        pid = read_pid(str(root / "shared" / "app.pid"))
        if pid:
            stop_pid(pid, None, 5)
