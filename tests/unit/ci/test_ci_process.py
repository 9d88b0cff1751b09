"""argv handling, timeouts and output tails of the process runner."""

from __future__ import annotations

import sys
import time

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _process
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, MissingDependencyError


def test_a_shell_string_is_refused_with_the_list_to_write_instead():
    with pytest.raises(ConfigurationError, match=r"not a shell string: write \['make', 'all'\]"):
        _process.validate_argv("make all")


@pytest.mark.parametrize("argv", [[], None, {"a": 1}])
def test_empty_or_non_list_argv_is_refused(argv):
    with pytest.raises(ConfigurationError, match="non-empty list"):
        _process.validate_argv(argv)


def test_non_string_arguments_are_refused_but_numbers_are_converted():
    with pytest.raises(ConfigurationError, match="not a string"):
        _process.validate_argv(["echo", ["nested"]])
    assert _process.validate_argv(["sleep", 1, 0.5]) == ["sleep", "1", "0.5"]


def test_arguments_are_passed_verbatim_without_a_shell(tmp_path):
    marker = tmp_path / "should-not-exist"
    result = _process.run(["echo", f"$(touch {marker}); `id`", "*"], capture=True)
    assert result.ok
    assert result.output.strip() == f"$(touch {marker}); `id` *"
    assert not marker.exists()


def test_missing_program_is_a_one_line_error():
    with pytest.raises(MissingDependencyError, match="'no-such-tool-xyz' was not found on PATH"):
        _process.run(["no-such-tool-xyz", "--version"])


def test_timeout_kills_the_whole_process_group(tmp_path):
    child_pid_file = tmp_path / "child.pid"
    script = f"import subprocess,sys,time; p=subprocess.Popen(['sleep','30']); open('{child_pid_file}','w').write(str(p.pid)); time.sleep(30)"
    start = time.monotonic()
    result = _process.run([sys.executable, "-c", script], timeout=1)
    assert result.timed_out and not result.ok
    assert time.monotonic() - start < 10
    pid = int(child_pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the grandchild survived the timeout")


def test_tail_keeps_only_the_last_lines_and_the_log_keeps_everything(tmp_path):
    log = tmp_path / "out.log"
    result = _process.run([sys.executable, "-c", "for i in range(1000): print(i)"], log_file=str(log), tail_lines=5)
    assert result.tail == ["995", "996", "997", "998", "999"]
    assert len(log.read_text().splitlines()) == 1000


def test_env_is_added_and_nonzero_exit_is_reported_not_raised():
    result = _process.run(
        [sys.executable, "-c", "import os,sys; print(os.environ['CONVEYOR_X']); sys.exit(3)"],
        env={"CONVEYOR_X": "42"},
        capture=True,
    )
    assert result.rc == 3 and result.output.strip() == "42"


def test_missing_working_directory_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        _process.run(["true"], cwd=str(tmp_path / "nope"))
