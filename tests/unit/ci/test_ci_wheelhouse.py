"""The wheelhouse engine: the app's wheel plus every dependency, keyed on the inputs, failures as pip's line."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._wheelhouse import RECORD, build_wheelhouse, error_line
from tests.unit.ci.pyapp import app_project, build_wheel, dep_project


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """tinydep's wheel in a --find-links directory, tinyapp's project and wheel."""
    base = tmp_path_factory.mktemp("pyapp")
    links = base / "links"
    build_wheel(dep_project(base), links)
    project = app_project(base)
    wheel = build_wheel(project, base / "dist")
    return {"links": links, "project": project, "wheel": wheel}


def collect(dest, built, **kwargs):
    src = str(kwargs.pop("src", built["wheel"]))
    args = {"find_links": [str(built["links"])], "no_index": True}
    args.update(kwargs)
    return build_wheelhouse(str(dest), src, **args)


def test_the_app_wheel_and_its_dependency_with_digests(tmp_path, built):
    dest = tmp_path / "wheelhouse"
    result = collect(dest, built)
    names = sorted(item["name"] for item in result["wheels"])
    assert [name.split("-")[0] for name in names] == ["tinyapp", "tinydep"]
    assert sorted(os.listdir(dest)) == sorted([*names, RECORD])
    for item in result["wheels"]:
        assert item["size"] == os.path.getsize(dest / item["name"]) and len(item["sha256"]) == 64
    assert result["changed"] is True
    assert json.loads((dest / RECORD).read_text())["key"] == result["cache_key"]
    assert not [name for name in os.listdir(tmp_path) if name != "wheelhouse"]  # no temporary directory left


def test_same_inputs_change_nothing_and_check_mode_predicts(tmp_path, built):
    dest = tmp_path / "wheelhouse"
    assert collect(dest, built, check_mode=True)["changed"] is True
    assert not dest.exists()  # check mode touches nothing
    first = collect(dest, built)
    mtime = (dest / RECORD).stat().st_mtime_ns
    for check_mode in (True, False):
        again = collect(dest, built, check_mode=check_mode)
        assert again["changed"] is False
        assert again["wheels"] == first["wheels"] and again["cache_key"] == first["cache_key"]
    assert (dest / RECORD).stat().st_mtime_ns == mtime


def test_an_altered_or_extra_wheel_and_a_new_input_rebuild(tmp_path, built):
    dest = tmp_path / "wheelhouse"
    first = collect(dest, built)
    dep = next(item["name"] for item in first["wheels"] if item["name"].startswith("tinydep"))
    (dest / dep).write_bytes(b"not a wheel")
    assert collect(dest, built, check_mode=True)["changed"] is True
    assert collect(dest, built)["wheels"] == first["wheels"]
    (dest / "stale-0.1-py3-none-any.whl").write_bytes(b"old")
    assert collect(dest, built)["changed"] is True
    assert not (dest / "stale-0.1-py3-none-any.whl").exists()
    lock = tmp_path / "requirements.lock"
    lock.write_text("tinydep==1.0.0\n")
    result = collect(dest, built, requirements=[str(lock)])
    assert result["changed"] is True and result["cache_key"] != first["cache_key"]
    assert collect(dest, built, requirements=[str(lock)])["changed"] is False


def test_a_project_directory_is_built_too(tmp_path, built):
    result = collect(tmp_path / "wh", built, src=built["project"], build_isolation=False)
    assert sorted(item["name"].split("-")[0] for item in result["wheels"]) == ["tinyapp", "tinydep"]
    again = collect(tmp_path / "wh", built, src=built["project"], build_isolation=False)
    assert again["changed"] is False


def test_a_missing_dependency_fails_with_pips_line_and_keeps_the_old_wheelhouse(tmp_path, built):
    dest = tmp_path / "wheelhouse"
    first = collect(dest, built)
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "requirements.txt").write_text("tinydep==1.0.0\n")
    with pytest.raises(CommandError) as caught:
        collect(dest, built, find_links=[str(empty)], requirements=[str(tmp_path / "requirements.txt")])
    assert "pip wheel failed with exit code 1" in caught.value.msg
    assert "tinydep" in caught.value.msg and "\n" not in caught.value.msg
    assert caught.value.details["log_tail"]
    assert sorted(os.listdir(dest)) == sorted([*(w["name"] for w in first["wheels"]), RECORD])
    assert sorted(os.listdir(tmp_path)) == ["empty", "requirements.txt", "wheelhouse"]


@pytest.mark.parametrize(
    ("dest", "src", "message"),
    [
        ("relative", "/x.whl", "dest 'relative' must be an absolute path"),
        ("/tmp/wh", "/nonexistent/app.whl", "src /nonexistent/app.whl does not exist"),
    ],
)
def test_bad_input_is_one_line(dest, src, message):
    with pytest.raises(ConfigurationError, match=message):
        build_wheelhouse(dest, src)


def test_a_directory_that_is_no_project_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="is not a Python project"):
        build_wheelhouse(str(tmp_path / "wh"), str(tmp_path))


def test_error_line_names_the_failure():
    tail = [
        "Processing ./dist/app.whl",
        "ERROR: Could not find a version that satisfies the requirement dep (from versions: none)",
        "ERROR: No matching distribution found for dep",
        "",
    ]
    assert error_line(tail) == "ERROR: No matching distribution found for dep"
    assert error_line(["just output", "last"]) == "last"
    assert error_line([]) == "(no output)"
