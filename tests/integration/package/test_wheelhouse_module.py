"""conveyor.cicd.wheelhouse through real ansible-playbook runs, with a local --find-links directory (no index)."""

from __future__ import annotations

import os

from tests.support.playbook import run_tasks
from tests.unit.ci.pyapp import app_project, build_wheel, dep_project


def test_wheelhouse_collects_rerun_changes_nothing_and_failures_are_one_line(tmp_path):
    links = tmp_path / "links"
    build_wheel(dep_project(tmp_path), links)
    wheel = build_wheel(app_project(tmp_path), tmp_path / "dist")
    dest = tmp_path / "package" / "wheelhouse"
    task = {
        "name": "Wheelhouse",
        "conveyor.cicd.wheelhouse": {
            "dest": str(dest),
            "src": str(wheel),
            "find_links": [str(links)],
            "no_index": True,
        },
    }
    predicted = run_tasks(tmp_path, [task], check=True)
    assert predicted.rc == 0, predicted.output
    assert predicted.result("Wheelhouse")["changed"] is True and not dest.exists()
    run = run_tasks(tmp_path, [task])
    assert run.rc == 0, run.output
    result = run.result("Wheelhouse")
    assert result["changed"] is True
    assert sorted(item["name"].split("-")[0] for item in result["wheels"]) == ["tinyapp", "tinydep"]
    assert all(os.path.getsize(dest / item["name"]) == item["size"] for item in result["wheels"])
    for check_mode in (True, False):
        again = run_tasks(tmp_path, [task], check=check_mode)
        assert again.rc == 0 and again.result("Wheelhouse")["changed"] is False
    (tmp_path / "none").mkdir()
    broken = dict(task["conveyor.cicd.wheelhouse"], find_links=[str(tmp_path / "none")])
    failed = run_tasks(tmp_path, [{"name": "Wheelhouse", "conveyor.cicd.wheelhouse": broken}])
    assert failed.rc != 0
    message = failed.result("Wheelhouse")["msg"]
    assert message.startswith("pip wheel failed with exit code 1: ") and "tinydep" in message
    assert "\n" not in message and "Traceback" not in failed.output
