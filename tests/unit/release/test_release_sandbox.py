"""The release sandbox engine on real git in temporary directories (no Ansible process)."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._release import release_info
from ansible_collections.conveyor.cicd.plugins.module_utils._sandbox import build_sandbox
from tests.support.release_histories import git

HISTORY = ["feat(api): report the commit", "fix: answer 404", "docs: describe the settings"]


def _params(path, seed_dir="", **extra):
    return {
        "path": str(path),
        "seed_dir": str(seed_dir) if seed_dir else "",
        "seed_tag": "v0.1.0",
        "import_message": "feat: import the sample application",
        "history": HISTORY,
        "author_name": "conveyor.cicd",
        "author_email": "release@conveyor.invalid",
        **extra,
    }


@pytest.fixture
def seed(tmp_path):
    root = tmp_path / "seed"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.py").write_text("print('hi')\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "build" / "out.bin").write_text("artifact\n")
    (root / "link").symlink_to("src/app.py")
    return root


def test_builds_the_scripted_history_once(tmp_path, seed):
    repo = tmp_path / "sandbox" / "app"
    predicted = build_sandbox(_params(repo, seed), check_mode=True)
    assert predicted["changed"] is True and predicted["commits"] == 4 and predicted["head"] is None
    assert not repo.exists() and not (tmp_path / "sandbox" / "app.partial").exists()

    built = build_sandbox(_params(repo, seed))
    assert built["changed"] is True
    assert built["tags"] == ["v0.1.0"] and built["commits"] == 4
    assert git(repo, "rev-parse", "HEAD").strip() == built["head"]
    subjects = git(repo, "log", "--format=%s").splitlines()
    assert subjects == [*reversed(HISTORY), "feat: import the sample application"]
    assert git(repo, "log", "-1", "--format=%an <%ae>").strip() == "conveyor.cicd <release@conveyor.invalid>"
    tracked = set(git(repo, "ls-files").splitlines())
    assert {"src/app.py", ".gitignore", "link", "history/01.md", "history/03.md"} <= tracked
    assert "build/out.bin" not in tracked  # the seed's .gitignore applies
    assert (repo / "link").is_symlink()
    assert (repo / "history" / "02.md").read_text() == "fix: answer 404\n"
    assert not (tmp_path / "sandbox" / "app.partial").exists()
    # the release engine sees what the role expects: v0.1.0 and a minor bump
    info = release_info(
        {
            "repo": str(repo),
            "tag_format": "v{version}",
            "prerelease": None,
            "path": None,
            "initial_version": "0.1.0",
            "major_version_zero": True,
            "bump_source": "commits",
            "fragments_dir": "changelogs/fragments",
            "commit_message": "chore(release): {version}",
        }
    )
    assert (info["current_version"], info["next_version"]) == ("0.1.0", "0.2.0")

    again = build_sandbox(_params(repo, seed))
    assert again["changed"] is False
    assert (again["head"], again["tags"], again["commits"]) == (built["head"], ["v0.1.0"], 4)
    assert build_sandbox(_params(repo, seed), check_mode=True)["changed"] is False


def test_without_seed_a_readme_and_no_tag(tmp_path):
    repo = tmp_path / "empty"
    repo.mkdir()  # an empty directory may be there already
    built = build_sandbox(_params(repo, seed_tag="", history=[]))
    assert built["changed"] is True and built["tags"] == [] and built["commits"] == 1
    assert (repo / "README.md").read_text() == "# Release demonstration\n"
    assert git(repo, "tag", "--list").strip() == ""


def test_seed_history_is_not_imported(tmp_path, seed):
    git(seed, "init", "--quiet")
    repo = tmp_path / "app"
    build_sandbox(_params(repo, seed, history=[]))
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_a_leftover_partial_build_is_replaced(tmp_path, seed):
    repo = tmp_path / "app"
    partial = tmp_path / "app.partial"
    (partial / "junk").mkdir(parents=True)
    (partial / "junk" / "half.txt").write_text("interrupted\n")
    build_sandbox(_params(repo, seed))
    assert not partial.exists()
    assert not (repo / "junk").exists()


@pytest.mark.parametrize(
    ("setup", "history", "message"),
    [
        ("file", HISTORY, "exists and is not a git repository"),
        ("dir", HISTORY, "exists and is not a git repository"),
        ("none", ["two\nlines"], "one-line commit message"),
        ("none", ["  "], "one-line commit message"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, setup, history, message):
    repo = tmp_path / "app"
    if setup == "file":
        repo.write_text("not a repository\n")
    elif setup == "dir":
        repo.mkdir()
        (repo / "notes.txt").write_text("keep me\n")
    with pytest.raises(ConfigurationError, match=message) as caught:
        build_sandbox(_params(repo, history=history))
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "app.partial").exists()
    if setup == "dir":
        assert (repo / "notes.txt").read_text() == "keep me\n"


def test_missing_seed_dir(tmp_path):
    with pytest.raises(ConfigurationError, match=r"seed directory .* does not exist"):
        build_sandbox(_params(tmp_path / "app", tmp_path / "nowhere"))
