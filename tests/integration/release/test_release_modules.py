"""conveyor.cicd.release, release_info and the semver filters through real ansible-playbook runs."""

from __future__ import annotations

import pytest

from tests.support.playbook import run_tasks
from tests.support.release_histories import build_history, git

pytestmark = pytest.mark.integration

HISTORY = [
    ("c", "feat: scaffold"),
    ("tag", "v1.2.0"),
    ("c", "feat(api): add /health"),
    ("c", "fix: empty body\n\nBREAKING CHANGE: errors are JSON now"),
]
FILES = {"galaxy.yml": "namespace: acme\nname: app\nversion: 1.2.0\n"}
ENV = {"SOURCE_DATE_EPOCH": "1767225600"}


def _release_task(repo, name="Release", **extra):
    return {
        "name": name,
        "conveyor.cicd.release": {"repo": str(repo), "version_files": ["galaxy.yml"], **extra},
        "register": "rel",
    }


def test_check_mode_then_release_then_nothing_new(tmp_path):
    repo = tmp_path / "app"
    build_history(repo, HISTORY, files=FILES)
    head = git(repo, "rev-parse", "HEAD").strip()

    tasks = [
        _release_task(repo, "Release"),
        {"name": "Info", "conveyor.cicd.release_info": {"repo": str(repo)}, "register": "info"},
    ]
    check = run_tasks(tmp_path, tasks, name="check", check=True, diff=True, env=ENV)
    assert check.rc == 0, check.output
    predicted = check.result("Release")
    assert predicted["changed"] is True
    assert (predicted["version"], predicted["tag"], predicted["bump"]) == ("2.0.0", "v2.0.0", "major")
    assert predicted["commit"] is None
    assert any(d["after_header"] == "CHANGELOG.md" for d in predicted["diff"])
    info = check.result("Info")
    assert (info["current_version"], info["next_version"], info["bump"], info["changed"]) == (
        "1.2.0",
        "2.0.0",
        "major",
        False,
    )
    assert git(repo, "rev-parse", "HEAD").strip() == head
    assert not (repo / "CHANGELOG.md").exists()

    real = run_tasks(tmp_path, [_release_task(repo)], name="real", env=ENV)
    assert real.rc == 0, real.output
    done = real.result("Release")
    for key in ("version", "tag", "bump", "changelog", "commits", "files"):
        assert done[key] == predicted[key], key
    assert git(repo, "rev-parse", "v2.0.0^{commit}").strip() == done["commit"]
    assert "version: 2.0.0\n" in (repo / "galaxy.yml").read_text()
    assert "- **api:** add /health (" in (repo / "CHANGELOG.md").read_text()
    assert "  - BREAKING CHANGE: errors are JSON now" in done["changelog"]

    again = run_tasks(tmp_path, [_release_task(repo)], name="again", env=ENV)
    assert again.rc == 0, again.output
    second = again.result("Release")
    assert (second["changed"], second["version"], second["bump"], second["commit"]) == (
        False,
        "2.0.0",
        "none",
        done["commit"],
    )


def test_errors_are_one_line(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    dirty = tmp_path / "dirty"
    build_history(dirty, HISTORY, files=FILES)
    (dirty / "galaxy.yml").write_text("namespace: acme\nname: app\nversion: 9.9.9\n")
    tasks = [
        {**_release_task(plain, "Not a repository"), "ignore_errors": True},
        {**_release_task(dirty, "Dirty tree"), "ignore_errors": True},
        {**_release_task(dirty, "Bad tag format", tag_format="release", allow_dirty=True), "ignore_errors": True},
    ]
    run = run_tasks(tmp_path, tasks, name="errors")
    not_repo = run.result("Not a repository")
    assert (
        not_repo["failed"] and not_repo["msg"] == f"'{plain}' is not a git repository: give the path of a git work tree"
    )
    dirty_result = run.result("Dirty tree")
    assert dirty_result["failed"]
    assert dirty_result["msg"].startswith("the working tree has uncommitted changes (galaxy.yml)")
    assert dirty_result["dirty_files"] == ["galaxy.yml"]
    assert "must contain '{version}' exactly once" in run.result("Bad tag format")["msg"]
    for name in ("Not a repository", "Dirty tree", "Bad tag format"):
        assert "\n" not in run.result(name)["msg"]
        assert "Traceback" not in run.result(name)["msg"]
    assert git(dirty, "tag").split() == ["v1.2.0"]


def test_semver_filters(tmp_path):
    tasks = [
        {
            "name": "Filters",
            "ansible.builtin.set_fact": {
                "bumped": "{{ '1.2.7' | conveyor.cicd.semver_bump('minor') }}",
                "candidate": "{{ '1.2.7' | conveyor.cicd.semver_bump('major', prerelease='rc') }}",
                "next_candidate": "{{ '2.0.0-rc.1' | conveyor.cicd.semver_bump('patch', prerelease='rc') }}",
                "compared": "{{ '1.10.0' | conveyor.cicd.semver_compare('1.9.3') }}",
                "ordered": "{{ ['1.10.0', 'v1.9.0', '1.10.0-rc.1'] | conveyor.cicd.semver_sort }}",
                "newest": "{{ ['1.10.0', '1.9.0'] | conveyor.cicd.semver_sort(reverse=true) | first }}",
            },
        },
        {
            "name": "Bad version",
            "ansible.builtin.debug": {"msg": "{{ 'latest' | conveyor.cicd.semver_bump('minor') }}"},
            "ignore_errors": True,
        },
    ]
    run = run_tasks(tmp_path, tasks, name="filters")
    facts = run.result("Filters")["ansible_facts"]
    assert facts["bumped"] == "1.3.0"
    assert facts["candidate"] == "2.0.0-rc.1"
    assert facts["next_candidate"] == "2.0.0-rc.2"
    assert int(facts["compared"]) == 1
    assert facts["ordered"] == ["v1.9.0", "1.10.0-rc.1", "1.10.0"]
    assert facts["newest"] == "1.10.0"
    bad = run.result("Bad version")
    assert bad["failed"] and "semver_bump: 'latest' is not a semantic version" in bad["msg"]


def test_release_sandbox_check_build_rerun(tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "README.md").write_text("# app\n")
    repo = tmp_path / "sandbox" / "app"
    tasks = [
        {
            "name": "Sandbox",
            "conveyor.cicd.release_sandbox": {
                "path": str(repo),
                "seed_dir": str(seed),
                "history": ["feat: one", "fix: two"],
            },
            "register": "box",
        },
        {
            "name": "Next",
            "conveyor.cicd.release_info": {"repo": str(repo)},
            "register": "info",
            "when": "not ansible_check_mode",
        },
    ]
    check = run_tasks(tmp_path, tasks, name="check", check=True)
    assert check.rc == 0, check.output
    assert check.result("Sandbox")["changed"] is True
    assert not repo.exists()

    real = run_tasks(tmp_path, tasks, name="real")
    assert real.rc == 0, real.output
    built = real.result("Sandbox")
    assert (built["changed"], built["tags"], built["commits"]) == (True, ["v0.1.0"], 3)
    assert real.result("Next")["next_version"] == "0.2.0"

    again = run_tasks(tmp_path, tasks, name="again")
    assert again.rc == 0, again.output
    assert again.result("Sandbox")["changed"] is False
    assert again.result("Sandbox")["head"] == built["head"]

    blocked = tmp_path / "blocked"
    blocked.write_text("a file\n")
    bad = run_tasks(
        tmp_path,
        [{"name": "Blocked", "conveyor.cicd.release_sandbox": {"path": str(blocked)}, "ignore_errors": True}],
        name="blocked",
    )
    assert bad.result("Blocked")["msg"] == (
        f"'{blocked}' exists and is not a git repository: remove it or choose another path for the sandbox"
    )
    assert blocked.read_text() == "a file\n"
