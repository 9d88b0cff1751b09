"""What the deploy role left on each container host: releases, the current link, the service answering."""

from __future__ import annotations

import json

ROOT = "/srv/conveyor-sample-app"
PROBE = (
    "import json, urllib.request; "
    "print(json.dumps(json.load(urllib.request.urlopen('http://127.0.0.1:8080/version', timeout=5))))"
)


def test_release_directories(host):
    releases = host.file(f"{ROOT}/releases")
    assert releases.is_directory
    names = releases.listdir()
    assert len(names) == 1 and names[0].startswith("0.1.0-"), names
    release = f"{ROOT}/releases/{names[0]}"
    assert host.file(f"{release}/src/sample_app/__init__.py").is_file
    # shared paths are links into shared/
    assert host.file(f"{release}/logs").linked_to == f"{ROOT}/shared/logs"
    assert host.file(f"{release}/run").linked_to == f"{ROOT}/shared/run"


def test_current_link_points_at_the_active_release(host):
    current = host.file(f"{ROOT}/current")
    assert current.is_symlink
    state = json.loads(host.file(f"{ROOT}/releases.json").content_string)
    active = [item for item in state["releases"] if item["status"] == "active"]
    assert len(active) == 1 and active[0]["version"] == "0.1.0"
    assert current.linked_to == f"{ROOT}/releases/{active[0]['id']}"


def test_service_answers_with_the_deployed_version(host):
    pid = host.file(f"{ROOT}/shared/run/app.pid").content_string.strip()
    answer = host.run("python3 -c %s", PROBE)
    assert answer.rc == 0, answer.stderr
    assert json.loads(answer.stdout)["version"] == "0.1.0"
    cmdline = host.file(f"/proc/{pid}/cmdline").content.split(b"\0")
    assert b"sample_app" in cmdline and b"8080" in cmdline, cmdline
