import io
import os
import sqlite3
from fractions import Fraction

import pytest

from sample_app.cli import main, remove_pid_file, write_pid_file
from sample_app.db import SQLiteDatabase
from sample_app.faults import ErrorSwitch
from sample_app.logs import setup_logging
from sample_app.server import App


@pytest.mark.parametrize(
    "argv",
    [["--error-rate", "1.7"], ["--port", "abc"], ["--database", "ftp://x"], ["--unknown"]],
)
def test_bad_configuration_exits_2_with_one_line_on_stderr(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("sample-app: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_unwritable_log_dir_exits_2_with_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["--log-dir", str(blocker / "logs"), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sample-app: error: cannot write logs to ")
    assert err.count("\n") == 1


def test_pid_file_is_written_and_removed_only_while_it_is_ours(tmp_path):
    pid_file = tmp_path / "run" / "app.pid"
    write_pid_file(str(pid_file))
    assert pid_file.read_text() == f"{os.getpid()}\n"
    remove_pid_file(str(pid_file))
    assert not pid_file.exists()

    pid_file.write_text("999999\n")  # a newer process took over the file
    remove_pid_file(str(pid_file))
    assert pid_file.exists()


def make_app(tmp_path, rate=0):
    db = tmp_path / "app.db"
    sqlite3.connect(db).close()
    return App(SQLiteDatabase(str(db)), setup_logging(None, stream=io.StringIO()), ErrorSwitch(rate))


def test_error_switch_applies_to_every_path_but_metrics(tmp_path):
    app = make_app(tmp_path, Fraction(1, 2))
    statuses = [app.route("GET", path)[0] for path in ["/healthz", "/version", "/items", "/nope"] * 2]
    assert statuses[1::2] == [500, 500, 500, 500]
    assert [app.route("GET", "/metrics")[0] for _request in range(4)] == [200] * 4


def test_unknown_path_is_404_and_other_methods_are_405(tmp_path):
    app = make_app(tmp_path)
    assert app.route("GET", "/nope")[0] == 404
    assert app.route("POST", "/healthz")[0] == 405
    assert app.route("HEAD", "/version")[0] == 200
