"""The release engine on real git repositories in temporary directories (no Ansible process)."""

from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._release import prepare_release, release_info
from tests.support.git_http import bare_clone, git_recorder, start_git_http_server
from tests.support.release_histories import build_history, git

PYPROJECT = '[build-system]\nrequires = ["setuptools"]\n\n[project]\nname = "app"\nversion = "0.0.0"\n\n[tool.x]\nversion = "keep"\n'
FILES = {
    "galaxy.yml": "namespace: acme\nname: app\nversion: 1.2.0\nreadme: README.md\n",
    "pyproject.toml": PYPROJECT,
    "src/app/__init__.py": '"""App."""\n__version__ = "1.2.0"\n',
    "chart/Chart.yaml": 'apiVersion: v2\nname: app\nappVersion: "1.2.0"\n',
}
VERSION_FILES = [
    "galaxy.yml",
    "pyproject.toml",
    "src/app/__init__.py",
    {"path": "chart/Chart.yaml", "pattern": r'^appVersion: "(?P<version>[^"]+)"'},
]


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01


def _params(repo, **extra):
    return {"repo": str(repo), "version_files": VERSION_FILES, **extra}


def _repo(tmp_path, steps):
    repo = tmp_path / "repo"
    build_history(repo, [("c", "feat: scaffold"), *steps], files=FILES)
    return repo


def test_release_updates_files_writes_changelog_commits_and_tags(tmp_path):
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "feat(api): health endpoint"), ("c", "fix: empty body")])
    result = prepare_release(_params(repo))
    assert result["changed"] is True
    assert (result["version"], result["previous_version"], result["tag"], result["bump"]) == (
        "1.3.0",
        "1.2.0",
        "v1.3.0",
        "minor",
    )
    assert [c["type"] for c in result["commits"]] == ["fix", "feat"]
    assert "version: 1.3.0\n" in (repo / "galaxy.yml").read_text()
    pyproject = (repo / "pyproject.toml").read_text()
    assert '[project]\nname = "app"\nversion = "1.3.0"' in pyproject
    assert 'version = "keep"' in pyproject
    assert '__version__ = "1.3.0"' in (repo / "src/app/__init__.py").read_text()
    assert 'appVersion: "1.3.0"' in (repo / "chart/Chart.yaml").read_text()
    changelog = (repo / "CHANGELOG.md").read_text()
    assert result["changelog"] in changelog
    assert "## [1.3.0] - 2026-01-01" in changelog
    assert git(repo, "log", "-1", "--format=%s").strip() == "chore(release): 1.3.0"
    assert git(repo, "rev-parse", "HEAD").strip() == result["commit"]
    assert git(repo, "cat-file", "-t", "v1.3.0").strip() == "tag"  # annotated
    assert git(repo, "rev-parse", "v1.3.0^{commit}").strip() == result["commit"]
    assert git(repo, "status", "--porcelain").strip() == ""
    assert sorted(result["files"]) == sorted(
        ["galaxy.yml", "pyproject.toml", "src/app/__init__.py", "chart/Chart.yaml", "CHANGELOG.md"]
    )

    again = prepare_release(_params(repo))
    assert again["changed"] is False
    assert (again["version"], again["tag"], again["bump"], again["commit"]) == (
        "1.3.0",
        "v1.3.0",
        "none",
        result["commit"],
    )
    assert git(repo, "rev-parse", "HEAD").strip() == result["commit"]


def test_check_mode_predicts_exactly_and_writes_nothing(tmp_path):
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "fix: one")])
    head = git(repo, "rev-parse", "HEAD")
    before = {name: (repo / name).read_text() for name in FILES}
    predicted = prepare_release(_params(repo), check_mode=True, want_diff=True)
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "tag").split() == ["v1.2.0"]
    assert {name: (repo / name).read_text() for name in FILES} == before
    assert not (repo / "CHANGELOG.md").exists()
    assert predicted["commit"] is None
    changelog_diff = next(d for d in predicted["diff"] if d["after_header"] == "CHANGELOG.md")
    real = prepare_release(_params(repo))
    for key in ("version", "tag", "bump", "changelog", "commits", "files", "changed"):
        assert predicted[key] == real[key], key
    assert changelog_diff["after"] == (repo / "CHANGELOG.md").read_text()


def test_release_candidates_then_the_final_release(tmp_path):
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "feat: search")])
    rc1 = prepare_release(_params(repo, prerelease="rc"))
    assert (rc1["version"], rc1["tag"]) == ("1.3.0-rc.1", "v1.3.0-rc.1")
    assert prepare_release(_params(repo, prerelease="rc"))["changed"] is False
    build_more = [("c", "fix: search paging")]
    for step in build_more:
        (repo / "src" / "more.txt").write_text(step[1])
        git(repo, "add", "--all")
        git(repo, "commit", "-q", "-m", step[1])
    rc2 = prepare_release(_params(repo, prerelease="rc"))
    assert (rc2["version"], rc2["previous_version"]) == ("1.3.0-rc.2", "1.3.0-rc.1")
    assert [c["description"] for c in rc2["commits"]] == ["search paging"]  # only what is new since rc.1
    final = prepare_release(_params(repo))
    assert (final["version"], final["previous_version"], final["bump"]) == ("1.3.0", "1.3.0-rc.2", "minor")
    # the final section covers everything since 1.2.0, without the release commits
    assert [c["description"] for c in final["commits"]] == ["search paging", "search"]
    changelog = (repo / "CHANGELOG.md").read_text()
    assert changelog.index("## [1.3.0]") < changelog.index("## [1.3.0-rc.2]") < changelog.index("## [1.3.0-rc.1]")
    assert prepare_release(_params(repo))["changed"] is False
    assert prepare_release(_params(repo, prerelease="rc"))["changed"] is False


def test_first_release_uses_initial_version(tmp_path):
    repo = _repo(tmp_path, [("c", "fix: a")])
    result = prepare_release(_params(repo, initial_version="1.0.0", version_files=[]))
    assert (result["version"], result["previous_version"], result["tag"]) == ("1.0.0", None, "v1.0.0")
    info = release_info({"repo": str(repo)})
    assert (info["current_version"], info["next_version"], info["release_needed"]) == ("1.0.0", None, False)


def test_dirty_tree_is_refused_unless_allowed(tmp_path):
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "fix: one")])
    (repo / "README.md").write_text("work in progress\n")  # untracked files do not count
    (repo / "galaxy.yml").write_text((repo / "galaxy.yml").read_text() + "# local edit\n")
    (repo / "src" / "0.txt").write_text("unstaged change\n")
    with pytest.raises(ConfigurationError, match=r"uncommitted changes \(.*src/0.txt.*\): commit or stash them"):
        prepare_release(_params(repo))
    result = prepare_release(_params(repo, allow_dirty=True, version_files=[]))
    assert result["changed"] and result["files"] == ["CHANGELOG.md"]
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["CHANGELOG.md"]
    assert "unstaged change" in (repo / "src" / "0.txt").read_text()  # left alone


def test_not_a_git_repository_is_one_clear_line(tmp_path):
    with pytest.raises(ConfigurationError) as err:
        release_info({"repo": str(tmp_path)})
    assert str(err.value) == f"'{tmp_path}' is not a git repository: give the path of a git work tree"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tag_format": "release"}, "must contain '{version}' exactly once"),
        ({"prerelease": "r c"}, "not a valid prerelease identifier"),
        ({"initial_version": "1.0"}, "is not a semantic version"),
        ({"version_files": ["setup.cfg"]}, "cannot tell where the version is in 'setup.cfg'"),
        ({"version_files": ["missing.py"]}, "version file 'missing.py' does not exist"),
        ({"version_files": [{"path": "galaxy.yml", "pattern": "nomatch-(?P<version>x)"}]}, "no version found"),
        ({"version_files": [{"path": "galaxy.yml", "pattern": "("}]}, "not a valid regular expression"),
        ({"path": "../elsewhere"}, "is outside the repository"),
        ({"version_files": ["../galaxy.yml"]}, "must be a path inside the repository"),
    ],
)
def test_bad_options_fail_with_one_line(tmp_path, options, message):
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "fix: one")])
    with pytest.raises(ConfigurationError) as err:
        prepare_release(_params(repo, **options))
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert git(repo, "tag").split() == ["v1.2.0"]
    assert git(repo, "status", "--porcelain") == ""


def test_monorepo_path_counts_only_its_commits_and_writes_inside_it(tmp_path):
    repo = tmp_path / "mono"
    build_history(
        repo,
        [
            ("c", "feat: app", "app/main.txt"),
            ("c", "feat: lib", "lib/main.txt"),
            ("tag", "app-v1.0.0"),
            ("c", "feat!: lib rewrite", "lib/main.txt"),
            ("c", "fix: app bug", "app/main.txt"),
        ],
        files={"app/pyproject.toml": PYPROJECT},
    )
    options = {"repo": str(repo), "path": "app", "tag_format": "app-v{version}", "version_files": ["pyproject.toml"]}
    result = prepare_release(options)
    assert (result["version"], result["tag"], result["bump"]) == ("1.0.1", "app-v1.0.1", "patch")
    assert sorted(result["files"]) == ["app/CHANGELOG.md", "app/pyproject.toml"]
    assert 'version = "1.0.1"' in (repo / "app" / "pyproject.toml").read_text()
    assert prepare_release(options)["changed"] is False  # the release commit touches app/ but is not a change
    # the project directory itself as repo means the same as path
    info = release_info({"repo": str(repo / "app"), "tag_format": "app-v{version}"})
    assert (info["current_version"], info["release_needed"]) == ("1.0.1", False)
    assert release_info({"repo": str(repo / "lib"), "tag_format": "lib-v{version}"})["next_version"] == "0.1.0"


def test_bump_from_antsibull_changelog_fragments(tmp_path):
    repo = _repo(tmp_path, [("tag", "v1.2.0")])
    frag = repo / "changelogs" / "fragments"
    frag.mkdir(parents=True)
    (frag / "10-fix.yml").write_text("bugfixes:\n  - thing - handle empty input.\n")
    (frag / "11-feature.yaml").write_text("minor_changes:\n  - thing - new option.\nrelease_summary: Small release.\n")
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", "docs: fragments (not a conventional feature)")
    options = _params(repo, bump_source="fragments", version_files=["galaxy.yml"])
    info = release_info(options)
    assert (info["next_version"], info["bump"], info["fragments"]) == (
        "1.3.0",
        "minor",
        ["10-fix.yml", "11-feature.yaml"],
    )
    result = prepare_release(options)
    assert result["version"] == "1.3.0"
    assert (
        "Small release.\n\n### Features\n\n- thing - new option.\n\n### Fixes\n\n- thing - handle empty input.\n"
        in (result["changelog"])
    )
    # the fragments stay in the tree but were already in the last release
    assert prepare_release(options)["changed"] is False
    (frag / "12-break.yml").write_text("breaking_changes:\n  - thing - removed the old option.\n")
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", "chore: breaking fragment")
    assert release_info(options)["next_version"] == "2.0.0"


def test_invalid_fragment_is_a_clear_error(tmp_path):
    repo = _repo(tmp_path, [("tag", "v1.2.0")])
    (repo / "changelogs" / "fragments").mkdir(parents=True)
    (repo / "changelogs" / "fragments" / "bad.yml").write_text("bugfixes: [unclosed\n")
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", "fix: x")
    with pytest.raises(ConfigurationError, match=r"changelog fragment changelogs/fragments/bad\.yml is not valid YAML"):
        release_info({"repo": str(repo), "bump_source": "fragments"})


def test_push_sends_branch_and_tag_and_recovers_a_failed_push(tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "feat: x")])
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "--quiet", "origin", "main", "v1.2.0")
    result = prepare_release(_params(repo, push=True))
    assert result["pushed"] is True
    assert git(remote, "rev-parse", "main").strip() == result["commit"]
    assert git(remote, "rev-parse", "v1.3.0^{commit}").strip() == result["commit"]
    assert prepare_release(_params(repo, push=True))["changed"] is False
    # simulate a push that failed after tagging: the tag is missing on the remote
    git(remote, "tag", "-d", "v1.3.0")
    check = prepare_release(_params(repo, push=True), check_mode=True)
    assert (check["changed"], check["pushed"]) == (True, True)
    assert git(remote, "tag").split() == ["v1.2.0"]
    recovered = prepare_release(_params(repo, push=True))
    assert (recovered["changed"], recovered["pushed"], recovered["version"]) == (True, True, "1.3.0")
    assert "v1.3.0" in git(remote, "tag").split()


def test_push_failure_is_reported_after_the_local_release(tmp_path):
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "feat: x")])
    git(repo, "remote", "add", "origin", str(tmp_path / "no-such-remote.git"))
    with pytest.raises(Exception, match="git push failed"):
        prepare_release(_params(repo, push=True))
    assert "v1.3.0" in git(repo, "tag").split()


def test_a_token_in_push_remote_reaches_git_only_through_its_environment(tmp_path, monkeypatch):
    token = "ghp-release-t0ken-5521"
    repo = _repo(tmp_path, [("tag", "v1.2.0"), ("c", "feat: x")])
    served = tmp_path / "served"
    bare_clone(repo, served / "private" / "app.git")
    server, httpd = start_git_http_server(served, token)
    record = tmp_path / "git-argv.jsonl"
    bin_dir = tmp_path / "bin"
    git_recorder(bin_dir, sys.executable)
    recording = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GIT_RECORD": str(record),
        "GIT_RECORD_SECRET": token,
        "GIT_RECORD_REAL": shutil.which("git"),
    }

    def release(remote):
        with monkeypatch.context() as env:
            for name, value in recording.items():
                env.setenv(name, value)
            return prepare_release(_params(repo, push=True, push_remote=remote))

    try:
        with pytest.raises(ConveyorError) as caught:
            release(server.url("private/app.git", "ci:not-the-token"))
        assert "not-the-token" not in caught.value.msg and "not-the-token" not in str(caught.value.details)
        git(repo, "tag", "-d", "v1.3.0")
        git(repo, "reset", "--quiet", "--hard", "HEAD~1")
        result = release(server.url("private/app.git", f"ci:{token}"))
    finally:
        httpd.shutdown()
    assert result["pushed"] is True
    assert git(served / "private" / "app.git", "rev-parse", "v1.3.0^{commit}").strip() == result["commit"]
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    assert calls and not [call for call in calls if any(token in arg for arg in call["argv"])]
    remote_calls = [call for call in calls if call["argv"][:1] in (["push"], ["ls-remote"])]
    carried = [call["env_with_secret"] for call in calls if call["env_with_secret"]]
    assert carried and all(names == ["CONVEYOR_GIT_PASSWORD"] for names in carried)  # the environment only
    assert all(call in remote_calls for call in calls if call["env_with_secret"])  # and only to the server
    assert token not in (repo / ".git" / "config").read_text()
