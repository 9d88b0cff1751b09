"""conveyor.cicd.files and tools_info engine: directories and whole files in one pass (module_utils/_host_files.py)."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._host_files import apply_files, find_tools

PY = sys.executable
CHECK_JSON = [PY, "-c", "import json, sys; json.load(open(sys.argv[1]))", "%s"]


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_first_run_creates_and_second_run_changes_nothing(tmp_path):
    dirs = [{"path": str(tmp_path / "a" / "b"), "mode": "0750"}]
    files = [
        {"path": str(tmp_path / "a" / "b" / "c.json"), "content": '{"x": 1}\n', "mode": "0640", "validate": CHECK_JSON}
    ]
    first = apply_files(dirs, files, check_mode=False, want_diff=True)
    assert first["changed"] is True
    assert first["changed_paths"] == [dirs[0]["path"], files[0]["path"]]
    assert (tmp_path / "a" / "b" / "c.json").read_text() == '{"x": 1}\n'
    assert mode_of(tmp_path / "a" / "b") == 0o750 and mode_of(files[0]["path"]) == 0o640
    assert first["diff"][0]["before_header"] == "/dev/null"
    again = apply_files(dirs, files, check_mode=False, want_diff=True)
    assert again["changed"] is False and again["changed_paths"] == [] and "diff" not in again


def test_check_mode_predicts_exactly_and_writes_nothing(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old\n")
    os.chmod(target, 0o644)
    files = [{"path": str(target), "content": "new\n", "mode": "0600"}]
    preview = apply_files([{"path": str(tmp_path / "d")}], files, check_mode=True, want_diff=True)
    assert preview["changed_paths"] == [str(tmp_path / "d"), str(target)]
    assert preview["files"][0]["changes"] == ["content", "mode"]
    assert preview["diff"] == [
        {"before_header": str(target), "after_header": str(target), "before": "old\n", "after": "new\n"}
    ]
    assert target.read_text() == "old\n" and not (tmp_path / "d").exists()
    real = apply_files([{"path": str(tmp_path / "d")}], files, check_mode=False, want_diff=False)
    assert real["changed_paths"] == preview["changed_paths"]
    assert mode_of(target) == 0o600 and target.read_text() == "new\n"


def test_mode_only_change_keeps_the_content_and_reports_mode(tmp_path):
    target = tmp_path / "f"
    apply_files([], [{"path": str(target), "content": "x", "mode": "0644"}], check_mode=False, want_diff=False)
    result = apply_files([], [{"path": str(target), "content": "x", "mode": "0600"}], check_mode=False, want_diff=True)
    assert result["files"][0]["changes"] == ["mode"] and "diff" not in result
    assert mode_of(target) == 0o600


def test_a_file_that_fails_validation_leaves_the_old_one_and_no_candidate(tmp_path):
    target = tmp_path / "c.json"
    target.write_text('{"ok": true}\n')
    with pytest.raises(CommandError) as failure:
        apply_files(
            [],
            [{"path": str(target), "content": "{not json", "validate": CHECK_JSON}],
            check_mode=False,
            want_diff=False,
        )
    assert "c.json failed validation by " in failure.value.msg
    assert "\n" not in failure.value.msg
    assert target.read_text() == '{"ok": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]
    with pytest.raises(CommandError):  # check mode makes the same check
        apply_files(
            [],
            [{"path": str(target), "content": "{not json", "validate": CHECK_JSON}],
            check_mode=True,
            want_diff=False,
        )


@pytest.mark.parametrize(
    ("directories", "files", "message"),
    [
        ([{"path": "/x", "mode": "rw"}], [], "is not an octal permission"),
        ([{"path": "/x"}], [{"path": "/x", "content": ""}], "listed twice with different settings"),
        ([], [{"path": "/x", "content": "", "validate": ["true"]}], "validate must contain %s"),
        ([{"path": "/x", "owner": "no-such-user-here"}], [], "user 'no-such-user-here' does not exist"),
    ],
)
def test_bad_input_is_one_clear_line(directories, files, message):
    with pytest.raises(ConfigurationError) as failure:
        apply_files(directories, files, check_mode=True, want_diff=False)
    assert message in failure.value.msg


def test_the_same_directory_named_twice_is_created_once(tmp_path):
    same = {"path": str(tmp_path / "d"), "mode": "0755"}
    result = apply_files([same, dict(same)], [], check_mode=False, want_diff=False)
    assert result["changed_paths"] == [same["path"]]


def test_a_path_of_the_wrong_kind_is_refused(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(ConfigurationError, match="is not a directory"):
        apply_files([{"path": str(tmp_path / "f")}], [], check_mode=False, want_diff=False)


def test_find_tools_reports_paths_and_missing_names(tmp_path):
    result = find_tools([PY, "sh", "no-such-tool-anywhere", str(tmp_path)])
    assert result["tools"][PY] == PY
    assert result["tools"]["sh"].endswith("/sh")
    assert result["missing"] == ["no-such-tool-anywhere", str(tmp_path)]
    assert result["changed"] is False
