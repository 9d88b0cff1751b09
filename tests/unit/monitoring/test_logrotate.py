"""The logrotate engine against the real logrotate: what it rotates, check mode, and its errors."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    MissingDependencyError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._logrotate import logrotate, rotated_logs
from tests.support.paths import require_binary


@pytest.fixture
def logs(tmp_path):
    require_binary("logrotate", "Debian package logrotate")
    directory = tmp_path / "logs"
    directory.mkdir()
    (directory / "access.log").write_text("one line\n")
    (directory / "error.log").write_text("")  # notifempty keeps it
    config = tmp_path / "logrotate.conf"
    config.write_text(f"{directory}/*.log {{\n    daily\n    rotate 2\n    missingok\n    notifempty\n}}\n")
    return directory, str(config), str(tmp_path / "state")


def test_a_forced_run_rotates_the_non_empty_log_and_a_second_run_changes_nothing(logs):
    directory, config, state = logs
    result = logrotate(config, state_file=state, force=True)
    assert result["changed"] is True
    assert result["rotated"] == [str(directory / "access.log")]
    assert sorted(p.name for p in directory.iterdir()) == ["access.log.1", "error.log"]

    again = logrotate(config, state_file=state)  # daily: not due again today, and access.log is gone
    assert again == {"changed": False, "rotated": [], "cmd": again["cmd"]}


def test_check_mode_names_what_a_real_run_rotates_and_writes_nothing(logs, tmp_path):
    directory, config, state = logs
    predicted = logrotate(config, state_file=state, force=True, check_mode=True)
    assert predicted["cmd"][1] == "-d"
    assert predicted["rotated"] == [str(directory / "access.log")] and predicted["changed"] is True
    assert sorted(p.name for p in directory.iterdir()) == ["access.log", "error.log"]
    assert not (tmp_path / "state").exists()
    assert logrotate(config, state_file=state, force=True)["rotated"] == predicted["rotated"]


def test_a_configuration_logrotate_refuses_fails_with_its_own_error_line(logs, tmp_path):
    directory, _config, state = logs
    bad = tmp_path / "bad.conf"
    bad.write_text(f"{directory}/*.log {{\n    size lots\n}}\n")
    with pytest.raises(CommandError) as failed:
        logrotate(str(bad), state_file=state, force=True)
    assert str(failed.value).startswith(f"logrotate failed on '{bad}' (exit 1): ")
    assert "unknown unit" in str(failed.value) and "\n" not in str(failed.value)


def test_missing_configuration_state_directory_and_binary_are_one_line_each(logs, tmp_path):
    _directory, config, _state = logs
    with pytest.raises(ConfigurationError, match=r"configuration '.*nowhere\.conf' does not exist: write it first"):
        logrotate(str(tmp_path / "nowhere.conf"))
    with pytest.raises(ConfigurationError, match="directory of the logrotate state file"):
        logrotate(config, state_file=str(tmp_path / "no" / "state"))
    with pytest.raises(MissingDependencyError, match="'no-such-logrotate' was not found on PATH; install"):
        logrotate(config, binary="no-such-logrotate")


def test_rotated_logs_reads_each_log_once_in_order():
    output = (
        "considering log /l/a.log\n  log needs rotating\n"
        "rotating log /l/a.log, log->rotateCount is 3\nrenaming /l/a.log to /l/a.log.1\n"
        "considering log /l/b.log\n  log does not need rotating\n"
        "rotating log /l/c log.log, log->rotateCount is 1\n"
        "rotating log /l/a.log, log->rotateCount is 3\n"
    )
    assert rotated_logs(output) == ["/l/a.log", "/l/c log.log"]
