"""The one whole-file writer: planted links and files are never followed, failures leave nothing behind."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import (
    atomic_copy,
    atomic_output,
    atomic_symlink,
    atomic_write_bytes,
    atomic_write_json,
    existing_mode,
    is_temporary,
    write_if_changed,
)


def listing(directory):
    return sorted(os.listdir(directory))


def test_a_symlink_at_the_target_is_replaced_not_written_through(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    victim.chmod(0o600)
    (tmp_path / "dest").mkdir()
    link = tmp_path / "dest" / "app.manifest.json"
    link.symlink_to(victim)
    atomic_write_bytes(str(link), b"{}\n", 0o644)
    assert victim.read_bytes() == b"precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600  # not widened either
    assert not link.is_symlink() and link.read_bytes() == b"{}\n"
    assert stat.S_IMODE(link.stat().st_mode) == 0o644


def test_names_planted_beside_the_target_are_left_alone(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    target = tmp_path / "out.json"
    # every name an older writer would have used, pointing at the victim
    for name in (f"out.json.{os.getpid()}.part", "out.json.tmp", ".out.json.tmp", "out.json.conveyor-tmp"):
        (tmp_path / name).symlink_to(victim)
    atomic_write_json(str(target), {"a": 1})
    assert victim.read_bytes() == b"precious\n"
    assert target.read_text() == '{\n  "a": 1\n}\n'


def test_the_temporary_file_is_private_while_it_is_written(tmp_path):
    target = tmp_path / "plan"
    with atomic_output(str(target), 0o644) as out:
        out.write(b"secret plan")
        out.file.flush()
        assert stat.S_IMODE(os.stat(out.temp_path).st_mode) == 0o600
        assert is_temporary(os.path.basename(out.temp_path), str(target))
        assert not target.exists()
    assert target.read_bytes() == b"secret plan"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_failure_inside_the_block_keeps_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(str(target)) as out:
        out.write(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == ["state.json"]


def test_discard_leaves_the_target_untouched(tmp_path):
    target = tmp_path / "a"
    with atomic_output(str(target)) as out:
        out.write(b"x")
        out.discard()
    assert listing(tmp_path) == []


def test_modes_and_missing_folders(tmp_path):
    target = tmp_path / "deep" / "er" / "plan.tfplan"
    atomic_copy(__file__, str(target), 0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert existing_mode(str(target)) == 0o600
    assert existing_mode(str(tmp_path / "nope"), 0o640) == 0o640


def test_write_if_changed_reports_honestly_and_check_mode_writes_nothing(tmp_path):
    target = tmp_path / "report.html"
    assert write_if_changed(str(target), b"v1", check_mode=True) is True
    assert not target.exists()
    assert write_if_changed(str(target), b"v1") is True
    assert write_if_changed(str(target), b"v1") is False
    other = tmp_path / "other"
    other.write_bytes(b"v1")
    target.unlink()
    target.symlink_to(other)  # same bytes behind a link still means "replace the link"
    assert write_if_changed(str(target), b"v1") is True
    assert not target.is_symlink() and other.read_bytes() == b"v1"


def test_symlink_switch_leaves_no_temporary_link(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    link = tmp_path / "current"
    atomic_symlink("a", str(link))
    atomic_symlink("b", str(link))
    assert os.readlink(link) == "b"
    assert listing(tmp_path) == ["a", "b", "current"]


def test_symlink_switch_interrupted_before_the_rename_keeps_the_old_link(tmp_path):
    (tmp_path / "a").mkdir()
    link = tmp_path / "current"
    atomic_symlink("a", str(link))

    def killed():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_symlink("b", str(link), before_replace=killed)
    assert os.readlink(link) == "a"
    assert listing(tmp_path) == ["a", "current"]


def test_an_os_error_without_a_file_name_is_given_the_target(tmp_path):
    target = tmp_path / "big.bin"
    with pytest.raises(OSError) as caught, atomic_output(str(target)) as out:
        out.write(b"x")
        raise OSError(errno.ENOSPC, "No space left on device")  # what a full disk raises from write()
    assert caught.value.filename == str(target)
    assert listing(tmp_path) == []


def test_exclusive_write_on_a_file_system_without_hard_links(tmp_path, monkeypatch):
    target = tmp_path / "app.manifest.json"

    def no_links(_source, _dest):
        raise OSError(errno.EPERM, "Operation not permitted")  # what FAT and some network mounts answer

    monkeypatch.setattr(os, "link", no_links)
    with atomic_output(str(target), exclusive=True) as out:
        out.write(b"first")
    assert target.read_bytes() == b"first"
    with pytest.raises(FileExistsError), atomic_output(str(target), exclusive=True) as out:
        out.write(b"second")
    assert target.read_bytes() == b"first"
    assert listing(tmp_path) == ["app.manifest.json"]
