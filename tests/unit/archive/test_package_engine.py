"""The package engine: globs, selection, epoch resolution, git, manifest, pass-through artifacts."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._archive import ArchiveError
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._package import (
    DEFAULT_SOURCE_DATE_EPOCH,
    ManifestError,
    PathPattern,
    load_manifest,
    package,
    resolve_epoch,
    select_files,
)
from tests.support.paths import require_binary


@pytest.mark.parametrize(
    ("pattern", "path", "is_dir", "expected"),
    [
        ("*.pyc", "a.pyc", False, True),
        ("*.pyc", "deep/er/a.pyc", False, True),
        ("*.pyc", "a.py", False, False),
        ("/*.txt", "a.txt", False, True),
        ("/*.txt", "sub/a.txt", False, False),
        ("docs/*.md", "docs/a.md", False, True),
        ("docs/*.md", "x/docs/a.md", False, False),
        ("docs/*.md", "docs/sub/a.md", False, False),
        ("docs/**/*.md", "docs/sub/deeper/a.md", False, True),
        ("docs/**/*.md", "docs/a.md", False, True),
        ("**/build", "a/b/build", True, True),
        ("build/**", "build/x/y", False, True),
        ("build/**", "build", True, False),
        ("**", "anything/at/all", False, True),
        ("cache/", "cache", True, True),
        ("cache/", "cache", False, False),
        ("cache/", "x/cache", True, True),
        ("file?.txt", "file1.txt", False, True),
        ("file?.txt", "file/.txt", False, False),
        ("[ab].txt", "a.txt", False, True),
        ("[!ab].txt", "c.txt", False, True),
        ("[!ab].txt", "a.txt", False, False),
        ("\\*.txt", "*.txt", False, True),
        ("\\*.txt", "a.txt", False, False),
        ("a**b", "axxb", False, True),
        ("./dist", "dist", True, True),
        ("./dist", "x/dist", True, False),
    ],
)
def test_glob_semantics(pattern, path, is_dir, expected):
    assert PathPattern(pattern).matches(path, is_dir) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("[abc", r"unclosed '\['"),
        ("!keep.txt", "negation"),
        ("../x", "'..'"),
        ("", "non-empty"),
        ("/", "matches nothing"),
        ("a\\", "lone"),
        (5, "non-empty strings"),
    ],
)
def test_bad_globs_are_one_clear_line(pattern, message):
    with pytest.raises(ConfigurationError, match=message) as bad:
        PathPattern(pattern)
    assert "\n" not in str(bad.value)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    for rel in [
        "src/app/__init__.py",
        "src/app/core.py",
        "src/app/__pycache__/core.cpython-311.pyc",
        "migrations/V1__init.sql",
        "docs/index.md",
        "build.log",
        "logs/today.log",
        ".git/HEAD",
        "pyproject.toml",
    ]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel + "\n")
    (root / "empty").mkdir()
    (root / "docs" / "current").symlink_to("index.md")
    return root


def test_selection_defaults_to_everything_but_git(tree):
    selected = select_files(str(tree))
    assert ".git/HEAD" not in selected
    assert "docs/current" in selected
    assert "empty" not in selected
    assert selected == sorted(selected) and len(selected) == 9


def test_include_and_exclude_combine_and_exclude_wins(tree):
    selected = select_files(str(tree), include=["src/", "migrations/**", "pyproject.toml"], exclude=["__pycache__/"])
    assert selected == ["migrations/V1__init.sql", "pyproject.toml", "src/app/__init__.py", "src/app/core.py"]
    assert select_files(str(tree), exclude=["*.log", "docs", "src"]) == ["migrations/V1__init.sql", "pyproject.toml"]


def test_dest_inside_src_is_never_packaged(tree):
    first = package(str(tree), "app", "1.0.0", str(tree / "dist"), source_date_epoch=0)
    second = package(str(tree), "app", "1.0.0", str(tree / "dist"), source_date_epoch=0)
    assert first["file_count"] == second["file_count"] == 9
    assert second["changed"] is False


def test_epoch_comes_from_parameter_then_environment_then_git_then_default():
    git = {"epoch": 1234}
    assert resolve_epoch(5, {"SOURCE_DATE_EPOCH": "6"}, git) == (5, "parameter")
    assert resolve_epoch(None, {"SOURCE_DATE_EPOCH": "6"}, git) == (6, "environment")
    assert resolve_epoch(None, {}, git) == (1234, "git")
    assert resolve_epoch(None, {"SOURCE_DATE_EPOCH": " "}, None) == (DEFAULT_SOURCE_DATE_EPOCH, "default")
    with pytest.raises(ConfigurationError, match="SOURCE_DATE_EPOCH environment variable must be a whole number"):
        resolve_epoch(None, {"SOURCE_DATE_EPOCH": "yesterday"}, None)
    with pytest.raises(ConfigurationError, match="between 0 and"):
        resolve_epoch(-5, {}, None)


def git_repo(root, when="2024-05-01T12:00:00Z"):
    require_binary("git")
    shutil.rmtree(root / ".git")  # the fixture's stand-in .git directory
    env = dict(
        os.environ,
        GIT_AUTHOR_DATE=when,
        GIT_COMMITTER_DATE=when,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@x",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@x",
    )
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "feat: first"]):
        subprocess.run(argv, cwd=root, env=env, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_manifest_records_git_commit_and_uses_its_time(tree, tmp_path):
    commit = git_repo(tree)
    result = package(
        str(tree),
        "app",
        "1.2.0",
        str(tmp_path / "dist"),
        formats=["tar.gz", "zip"],
        build_summary={"cache": "hit"},
        test_summary={"passed": 3, "failed": 0},
        environ={},
    )
    assert result["git"] == {"commit": commit, "commit_time": "2024-05-01T12:00:00Z"}
    assert (result["source_date_epoch"], result["source_date_epoch_from"]) == (1714564800, "git")
    path = tmp_path / "dist" / "app-1.2.0.manifest.json"
    text = path.read_text()
    manifest = json.loads(text)
    assert text == json.dumps(manifest, sort_keys=True, indent=2) + "\n"
    assert set(manifest) == {"schema", "name", "version", "git", "source_date_epoch", "artifacts", "build", "tests"}
    assert manifest["tests"] == {"passed": 3, "failed": 0} and manifest["build"] == {"cache": "hit"}
    assert [a["name"] for a in manifest["artifacts"]] == ["app-1.2.0.tar.gz", "app-1.2.0.zip"]
    assert load_manifest(str(path)) == manifest == result["manifest"]


def test_a_snapshot_is_a_prerelease_named_after_the_commit(tree, tmp_path):
    short = subprocess.run(  # what git itself calls the commit, 12 digits
        ["git", "rev-parse", "--short=12", git_repo(tree)], cwd=tree, check=True, capture_output=True, text=True
    ).stdout.strip()
    result = package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, snapshot=True)
    assert result["version"] == f"1.2.0-dev.g{short}" == result["manifest"]["version"]
    assert [a["name"] for a in result["artifacts"]] == [f"app-1.2.0-dev.g{short}.tar.gz"]
    assert (tmp_path / "dist" / f"app-1.2.0-dev.g{short}.manifest.json").is_file()
    again = package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, snapshot=True)
    assert again["changed"] is False and again["version"] == result["version"]
    plain = package(str(tree), "app", "1.2.0", str(tmp_path / "plain"), environ={})
    assert plain["version"] == "1.2.0"


def test_a_snapshot_outside_git_is_the_dev_prerelease(tree, tmp_path):
    result = package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, snapshot=True)
    assert result["version"] == "1.2.0-dev" and result["git"] is None


def test_outside_git_the_manifest_says_null_and_an_explicit_git_dir_must_be_a_repository(tree, tmp_path):
    result = package(str(tree), "app", "1.0.0", str(tmp_path / "dist"), environ={})
    assert result["git"] is None and result["manifest"]["git"] is None
    assert result["source_date_epoch_from"] == "default"
    with pytest.raises(ConfigurationError, match="cannot read the HEAD commit"):
        package(str(tree), "app", "1.0.0", str(tmp_path / "dist"), git_dir=str(tree), environ={})


def test_checksum_files_verify_with_sha256sum(tree, tmp_path):
    sha256sum = require_binary("sha256sum")
    dist = tmp_path / "dist"
    result = package(str(tree), "app", "1.0.0", str(dist), formats=["tar.gz", "zip"], source_date_epoch=0)
    for path in result["checksum_files"]:
        subprocess.run(
            [sha256sum, "--check", "--strict", os.path.basename(path)], cwd=dist, check=True, capture_output=True
        )
    first = (dist / "app-1.0.0.zip.sha256").read_text()
    assert first == f"{result['artifacts'][1]['sha256']}  app-1.0.0.zip\n"


def build_outputs(built) -> tuple[bytes, bytes]:
    """A small real wheel (zip) and sdist (tar.gz) in ``built``; returns their bytes."""
    built.mkdir()
    with zipfile.ZipFile(built / "app-1.0.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as wheel:
        for index in range(20):
            wheel.writestr(f"app/mod{index}.py", f"VALUE = {index}\n" * 50)
        wheel.writestr("app-1.0.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: app\nVersion: 1.0.0\n")
    with tarfile.open(built / "app-1.0.0.tar.gz", "w:gz") as sdist:
        for index in range(20):
            data = f"VALUE = {index}\n".encode() * 50
            info = tarfile.TarInfo(f"app-1.0.0/app/mod{index}.py")
            info.size = len(data)
            sdist.addfile(info, io.BytesIO(data))
    return (built / "app-1.0.0-py3-none-any.whl").read_bytes(), (built / "app-1.0.0.tar.gz").read_bytes()


def test_wheels_and_sdists_pass_through_as_artifacts(tree, tmp_path):
    built = tmp_path / "built"
    wheel_bytes, _sdist_bytes = build_outputs(built)
    dist = tmp_path / "dist"
    result = package(
        str(tree),
        "app",
        "1.0.0",
        str(dist),
        formats=[],
        wheels=[str(built / "*.whl")],
        sdists=[str(built / "app-1.0.0.tar.gz")],
        source_date_epoch=0,
    )
    formats = {a["name"]: a["format"] for a in result["artifacts"]}
    assert formats == {"app-1.0.0-py3-none-any.whl": "wheel", "app-1.0.0.tar.gz": "sdist"}
    assert (dist / "app-1.0.0-py3-none-any.whl").read_bytes() == wheel_bytes
    assert (dist / "app-1.0.0-py3-none-any.whl.sha256").exists()
    again = package(
        str(tree),
        "app",
        "1.0.0",
        str(dist),
        formats=[],
        wheels=[str(built / "*.whl")],
        sdists=[str(built / "app-1.0.0.tar.gz")],
        source_date_epoch=0,
    )
    assert again["changed"] is False


@pytest.mark.parametrize("artifact", ["app-1.0.0-py3-none-any.whl", "app-1.0.0.tar.gz"])
def test_a_truncated_wheel_or_sdist_is_not_packaged(tree, tmp_path, artifact):
    built = tmp_path / "built"
    build_outputs(built)
    whole = (built / artifact).read_bytes()
    dist = tmp_path / "dist"
    for cut in (len(whole) // 2, len(whole) - 3):
        (built / artifact).write_bytes(whole[:cut])
        with pytest.raises(ArchiveError) as refused:
            package(
                str(tree),
                "app",
                "1.0.0",
                str(dist),
                formats=["tar.gz"],
                wheels=[str(built / "*.whl")],
                sdists=[str(built / "app-1.0.0.tar.gz")],
                source_date_epoch=0,
            )
        message = str(refused.value)
        assert f"archive '{artifact}' is truncated or damaged" in message and "build the" in message
        assert "\n" not in message
        assert not dist.exists(), "nothing is written when an input is damaged"


def test_a_sdist_named_like_the_tar_gz_archive_is_a_clear_conflict(tree, tmp_path):
    build_outputs(tmp_path / "built")
    sdist = str(tmp_path / "built" / "app-1.0.0.tar.gz")
    with pytest.raises(ConfigurationError, match=r"two artifacts would be called 'app-1\.0\.0\.tar\.gz'"):
        package(str(tree), "app", "1.0.0", str(tmp_path / "dist"), sdists=[sdist])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"src": "/nonexistent/tree"}, "is not a directory"),
        ({"src": None}, "src is required"),
        ({"formats": ["rar"]}, "unknown format 'rar'"),
        ({"formats": ["zip", "zip"]}, "same format twice"),
        ({"name": "my app"}, "name must start"),
        ({"version": "../1"}, "version must start"),
        ({"include": ["[x"]}, "unclosed"),
        ({"include": "*.py"}, "must be a list"),
        ({"exclude": ["**"]}, "no files selected"),
        ({"wheels": ["/nonexistent/*.whl"]}, "does not match any file"),
        ({"build_summary": "passed"}, "build_summary must be a dictionary"),
        ({"source_date_epoch": "soon"}, "source_date_epoch must be a whole number"),
        ({"prefix": "../up"}, "prefix"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tree, tmp_path, kwargs, message):
    args = {"src": str(tree), "name": "app", "version": "1.0.0", "dest": str(tmp_path / "dist"), **kwargs}
    with pytest.raises(ConfigurationError, match=message) as bad:
        package(**args)
    assert "\n" not in str(bad.value)
    assert not (tmp_path / "dist").exists()


def test_refused_symlink_names_the_path_and_leaves_no_artifact(tree, tmp_path):
    (tree / "src" / "secrets").symlink_to("/etc")
    from ansible_collections.conveyor.cicd.plugins.module_utils._archive import ArchiveError

    with pytest.raises(ArchiveError, match="refusing symlink 'src/secrets' -> '/etc'"):
        package(str(tree), "app", "1.0.0", str(tmp_path / "dist"), source_date_epoch=0)
    assert list((tmp_path / "dist").iterdir()) == []


def test_check_mode_predicts_every_change_and_writes_nothing(tree, tmp_path):
    dist = tmp_path / "dist"
    args = {
        "src": str(tree),
        "name": "app",
        "version": "1.0.0",
        "dest": str(dist),
        "formats": ["tar.gz", "zip"],
        "source_date_epoch": 0,
    }
    predicted = package(**args, check_mode=True)
    assert predicted["changed"] is True and not dist.exists()
    real = package(**args)
    assert real["manifest"] == predicted["manifest"]
    assert package(**args, check_mode=True)["changed"] is False
    (tree / "docs" / "index.md").write_text("changed\n")
    snapshot = {p.name: p.read_bytes() for p in dist.iterdir()}
    predicted = package(**args, check_mode=True)
    assert predicted["changed"] is True
    assert {a["name"]: a["changed"] for a in predicted["artifacts"]} == {
        "app-1.0.0.tar.gz": True,
        "app-1.0.0.zip": True,
    }
    assert predicted["diff"]["before"] != predicted["diff"]["after"]
    assert {p.name: p.read_bytes() for p in dist.iterdir()} == snapshot


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.update(schema=2), "'schema' must be 1"),
        (lambda m: m.pop("artifacts"), "'artifacts' must be a list"),
        (lambda m: m["artifacts"][0].update(sha256="xyz"), "sha256"),
        (lambda m: m["artifacts"][0].update(name="../x"), "plain file name"),
        (lambda m: m["artifacts"][0].update(format="rpm"), "format"),
        (lambda m: m.update(git={"commit": ""}), "'git'"),
        (lambda m: m.update(tests=[]), "'tests' must be an object"),
        (lambda m: m.update(source_date_epoch="0"), "source_date_epoch"),
    ],
)
def test_load_manifest_rejects_what_breaks_the_schema(tree, tmp_path, mutate, message):
    result = package(str(tree), "app", "1.0.0", str(tmp_path / "dist"), source_date_epoch=0)
    manifest = json.loads(json.dumps(result["manifest"]))
    mutate(manifest)
    path = tmp_path / "bad.manifest.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ManifestError, match=message):
        load_manifest(str(path))


def test_load_manifest_reports_missing_and_broken_files(tmp_path):
    with pytest.raises(ManifestError, match="cannot read release manifest"):
        load_manifest(str(tmp_path / "none.json"))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        load_manifest(str(tmp_path / "broken.json"))


def test_an_include_pattern_that_selects_nothing_is_an_error(tree, tmp_path):
    # a pattern written for another layout (src/** in a flat tree) must not give an archive without the code
    flat = tmp_path / "flat"
    (flat / "flatapp").mkdir(parents=True)
    (flat / "flatapp" / "__init__.py").write_text("VERSION = '2.0.0'\n")
    (flat / "pyproject.toml").write_text("[project]\n")
    with pytest.raises(ConfigurationError, match=r"include pattern 'src/\*\*' selects no file in") as bad:
        package(str(flat), "app", "1.0.0", str(tmp_path / "dist"), include=["src/**", "pyproject.toml"])
    assert "\n" not in str(bad.value)
    assert not (tmp_path / "dist").exists()
    # a pattern whose every match is excluded selects nothing either
    with pytest.raises(ConfigurationError, match="include pattern 'docs/' selects no file"):
        select_files(str(tree), include=["src/**", "docs/"], exclude=["docs/"])


def test_tracked_selects_what_git_tracks_and_the_result_says_so(tree, tmp_path):
    (tree / ".gitignore").write_text(".venv/\n*.log\n__pycache__/\n")
    git_repo(tree)
    (tree / ".venv" / "bin").mkdir(parents=True)
    (tree / ".venv" / "bin" / "python").write_text("not code\n")
    (tree / "untracked.py").write_text("print('scratch')\n")
    (tree / "src" / "app" / "core.py").unlink()  # tracked, deleted in the work tree: not packaged
    result = package(str(tree), "app", "1.0.0", str(tmp_path / "dist"), tracked=True)
    assert result["file_selection"] == "git"
    assert sorted(packed_files(result)) == [
        ".gitignore",
        "docs/current",
        "docs/index.md",
        "migrations/V1__init.sql",
        "pyproject.toml",
        "src/app/__init__.py",
    ]
    # include and exclude still apply to the tracked files
    narrowed = package(
        str(tree), "app", "1.0.0", str(tmp_path / "narrow"), tracked=True, include=["src/"], exclude=["docs/"]
    )
    assert packed_files(narrowed) == ["src/app/__init__.py"]


def packed_files(result):
    with tarfile.open(result["artifacts"][0]["path"]) as archive:
        return [member.name for member in archive.getmembers() if not member.isdir()]


def test_tracked_outside_git_takes_the_tree_and_nothing_tracked_is_an_error(tree, tmp_path):
    shutil.rmtree(tree / ".git")
    outside = package(str(tree), "app", "1.0.0", str(tmp_path / "dist"), tracked=True)
    assert outside["file_selection"] == "tree" and outside["file_count"] == 9
    assert package(str(tree), "app", "1.0.0", str(tmp_path / "plain"))["file_selection"] == "tree"
    # a git work tree in which the application's directory holds no tracked file
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "main.py").write_text("print('never added')\n")
    (repo / "README.md").write_text("repo\n")
    git_repo_of(repo)
    with pytest.raises(ConfigurationError, match=r"no files selected in .*git tracks none") as bad:
        package(str(repo / "app"), "app", "1.0.0", str(tmp_path / "empty"), tracked=True)
    assert "\n" not in str(bad.value)
    assert not (tmp_path / "empty").exists()


def git_repo_of(root):
    """A repository at root with a commit holding only README.md."""
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x"
    )
    for argv in (["git", "init", "-q"], ["git", "add", "README.md"], ["git", "commit", "-q", "-m", "docs: readme"]):
        subprocess.run(argv, cwd=root, env=env, check=True)


def git_in(root, *argv):
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x"
    )
    return subprocess.run(["git", *argv], cwd=root, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_a_release_is_packaged_from_the_commit_its_tag_names(tree, tmp_path):
    commit = git_repo(tree)
    git_in(tree, "tag", "-a", "-m", "Release 1.2.0", "v1.2.0")  # annotated: the tag object is not the commit
    result = package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, release_tag="v{version}")
    assert result["release_tag"] == "v1.2.0" and result["version"] == "1.2.0"
    assert result["git"]["commit"] == commit
    # a lightweight tag, another format, and src below the top of the work tree
    git_in(tree, "tag", "app-1.2.0")
    below = package(str(tree / "src"), "app", "1.2.0", str(tmp_path / "below"), environ={}, release_tag="app-{version}")
    assert below["release_tag"] == "app-1.2.0"


def test_an_untagged_commit_is_not_packaged_as_a_release(tree, tmp_path):
    commit = git_repo(tree)
    for check_mode in (True, False):
        with pytest.raises(ConfigurationError) as bad:
            package(
                str(tree),
                "app",
                "1.2.0",
                str(tmp_path / "dist"),
                environ={},
                release_tag="v{version}",
                check_mode=check_mode,
            )
        message = str(bad.value)
        assert message.startswith(f"app 1.2.0 is not a release build: commit {commit[:12]} is not tagged v1.2.0 (")
        assert "conveyor_snapshot: true" in message and "\n" not in message
    assert not (tmp_path / "dist").exists()


def test_a_release_tag_on_an_older_commit_does_not_make_head_the_release(tree, tmp_path):
    first = git_repo(tree)
    git_in(tree, "tag", "v1.2.0")
    (tree / "src" / "app" / "core.py").write_text("changed after the release\n")
    git_in(tree, "commit", "-q", "-am", "fix: after the release")
    with pytest.raises(
        ConfigurationError, match=rf"is not tagged v1\.2\.0 \(v1\.2\.0 is on commit {first[:12]};"
    ) as bad:
        package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, release_tag="v{version}")
    assert "\n" not in str(bad.value)
    assert not (tmp_path / "dist").exists()
    # the same commit as a snapshot is fine: it is named after itself, and no tag is checked
    snapshot = package(
        str(tree), "app", "1.2.0", str(tmp_path / "snap"), environ={}, snapshot=True, release_tag="v{version}"
    )
    assert snapshot["release_tag"] is None and snapshot["version"].startswith("1.2.0-dev.g")


def test_outside_git_there_is_no_commit_to_check(tree, tmp_path):
    result = package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, release_tag="v{version}")
    assert result["release_tag"] is None and result["git"] is None and result["version"] == "1.2.0"


@pytest.mark.parametrize("release_tag", ["v1.2.0", "{version}-{version}", ["v{version}"]])
def test_a_release_tag_without_version_exactly_once_is_one_line(tree, tmp_path, release_tag):
    with pytest.raises(ConfigurationError, match=r"release_tag .* must contain '\{version\}' exactly once") as bad:
        package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, snapshot=True, release_tag=release_tag)
    assert "\n" not in str(bad.value)
    assert not (tmp_path / "dist").exists()


def test_an_empty_release_tag_checks_nothing(tree, tmp_path):
    git_repo(tree)
    result = package(str(tree), "app", "1.2.0", str(tmp_path / "dist"), environ={}, release_tag="")
    assert result["release_tag"] is None and result["version"] == "1.2.0"
