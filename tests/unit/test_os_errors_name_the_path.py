"""OS errors (a full disk, a read-only mount) become one line naming the path and the operation."""

from __future__ import annotations

import errno

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _archive
from ansible_collections.conveyor.cicd.plugins.module_utils._archive import ArchiveError
from ansible_collections.conveyor.cicd.plugins.module_utils._module import EngineCall, call_engine


def engine_call():
    return EngineCall({}, check_mode=False, diff=False, no_log=False, no_log_values=set())


def failing(exc):
    def run(module):
        raise exc

    return run


def test_uncaught_full_disk_error_says_what_to_do():
    result = call_engine(
        failing(OSError(errno.ENOSPC, "No space left on device", "/srv/out/app.tar.gz")), engine_call()
    )
    assert result["msg"] == "No space left on device (/srv/out/app.tar.gz): free some space on that file system"


def test_uncaught_error_without_a_path_says_so():
    result = call_engine(failing(OSError(errno.EROFS, "Read-only file system")), engine_call())
    assert result["msg"].startswith("Read-only file system (the path is unknown; run with -vvv")
    assert "mounted read-only" in result["msg"] and "unexpected" not in result["msg"]


def test_rename_error_names_both_paths():
    exc = OSError(errno.EACCES, "Permission denied", "/a/x.tmp", None, "/a/x")
    assert "(/a/x.tmp -> /a/x)" in call_engine(failing(exc), engine_call())["msg"]


def test_writing_an_archive_on_a_full_disk_names_the_archive():
    def writer(entries, sink, mtime, level):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ArchiveError, match=r"^could not write /dist/app\.tar\.gz: No space left on device$"):
        _archive._build(writer, [], None, 0, 6, "/dist/app.tar.gz")


def test_a_file_that_cannot_be_read_while_packing_is_named():
    def writer(entries, sink, mtime, level):
        raise OSError(errno.EACCES, "Permission denied", "/src/secret.key")

    with pytest.raises(ArchiveError, match=r"^could not read /src/secret\.key to pack it: Permission denied$"):
        _archive._build(writer, [], None, 0, 6, "/dist/app.tar.gz")
