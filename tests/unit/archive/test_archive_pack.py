"""Reproducible packing: same inputs, same bytes; normalised metadata; atomic, honest `changed`."""

from __future__ import annotations

import gzip
import os
import socket
import stat
import tarfile
import tracemalloc
import zipfile

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._archive import ArchiveError, pack

EPOCH = 1_700_000_000


def make_tree(root, mode_text=0o644, mode_exec=0o755):
    (root / "app" / "static").mkdir(parents=True)
    (root / "app" / "main.py").write_text("print('hi')\n")
    (root / "app" / "main.py").chmod(mode_text)
    (root / "app" / "run.sh").write_text("#!/bin/sh\n")
    (root / "app" / "run.sh").chmod(mode_exec)
    (root / "app" / "static" / "blob.bin").write_bytes(bytes(range(256)) * 512)
    (root / "current").symlink_to("app/main.py")
    return ["app/main.py", "app/run.sh", "app/static/blob.bin", "current"]


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_same_inputs_give_byte_identical_archives_despite_mtimes_and_modes(tmp_path, fmt):
    one, two = tmp_path / "one", tmp_path / "two"
    files = make_tree(one)
    make_tree(two, mode_text=0o600, mode_exec=0o700)
    os.utime(two / "app" / "main.py", (1, 1))
    first = pack(str(one), files, str(tmp_path / f"a.{fmt}"), fmt, EPOCH)
    second = pack(str(two), list(reversed(files)), str(tmp_path / f"b.{fmt}"), fmt, EPOCH)
    assert first["sha256"] == second["sha256"]
    assert (tmp_path / f"a.{fmt}").read_bytes() == (tmp_path / f"b.{fmt}").read_bytes()
    other = pack(str(one), files, str(tmp_path / f"c.{fmt}"), fmt, EPOCH + 2)
    assert other["sha256"] != first["sha256"]


def test_tar_entries_are_sorted_with_fixed_owner_time_and_modes(tmp_path):
    files = make_tree(tmp_path / "src")
    pack(str(tmp_path / "src"), files, str(tmp_path / "out.tar.gz"), "tar.gz", EPOCH, prefix="app-1.0")
    with tarfile.open(tmp_path / "out.tar.gz") as archive:
        members = archive.getmembers()
        link = archive.getmember("app-1.0/current").linkname
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[:2] == ["app-1.0", "app-1.0/app"]
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", EPOCH)}
    modes = {m.name: (m.type, m.mode) for m in members}
    assert modes["app-1.0/app/main.py"] == (tarfile.REGTYPE, 0o644)
    assert modes["app-1.0/app/run.sh"] == (tarfile.REGTYPE, 0o755)
    assert modes["app-1.0/app/static"] == (tarfile.DIRTYPE, 0o755)
    assert modes["app-1.0/current"] == (tarfile.SYMTYPE, 0o777)
    assert link == "app/main.py"


def test_gzip_header_has_no_name_and_no_timestamp(tmp_path):
    files = make_tree(tmp_path / "src")
    out = tmp_path / "out.tar.gz"
    pack(str(tmp_path / "src"), files, str(out), "tar.gz", EPOCH)
    header = out.read_bytes()[:10]
    assert header[:3] == b"\x1f\x8b\x08"
    assert header[3] == 0, "no FNAME/FEXTRA/FCOMMENT flags"
    assert header[4:8] == b"\0\0\0\0", "gzip mtime is zero"
    with gzip.open(out) as stream:
        assert len(stream.read()) % 10240 == 0


def test_zip_entries_have_fixed_dates_unix_modes_and_info_zip_symlinks(tmp_path):
    files = make_tree(tmp_path / "src")
    out = tmp_path / "out.zip"
    pack(str(tmp_path / "src"), files, str(out), "zip", 100)  # before 1980: clamped to the zip epoch
    with zipfile.ZipFile(out) as archive:
        infos = {i.filename: i for i in archive.infolist()}
        assert archive.testzip() is None
        assert archive.read("current") == b"app/main.py"
    assert list(infos) == sorted(infos)
    assert {i.date_time for i in infos.values()} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.create_system for i in infos.values()} == {3}
    assert infos["app/run.sh"].external_attr >> 16 == stat.S_IFREG | 0o755
    assert infos["app/main.py"].external_attr >> 16 == stat.S_IFREG | 0o644
    assert infos["app/"].external_attr >> 16 == stat.S_IFDIR | 0o755
    assert infos["current"].external_attr >> 16 == stat.S_IFLNK | 0o777


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_identical_existing_artifact_is_left_alone(tmp_path, fmt):
    files = make_tree(tmp_path / "src")
    out = tmp_path / "dist" / f"x.{fmt}"
    assert pack(str(tmp_path / "src"), files, str(out), fmt, EPOCH)["changed"] is True
    inode = out.stat().st_ino
    again = pack(str(tmp_path / "src"), files, str(out), fmt, EPOCH)
    assert again["changed"] is False
    assert out.stat().st_ino == inode
    assert sorted(p.name for p in out.parent.iterdir()) == [f"x.{fmt}"], "no temporary file is left"


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_check_mode_predicts_exactly_and_writes_nothing(tmp_path, fmt):
    src = tmp_path / "src"
    files = make_tree(src)
    out = tmp_path / "dist" / f"x.{fmt}"
    predicted = pack(str(src), files, str(out), fmt, EPOCH, check_mode=True)
    assert predicted["changed"] is True and not (tmp_path / "dist").exists()
    real = pack(str(src), files, str(out), fmt, EPOCH)
    assert (predicted["sha256"], predicted["size"]) == (real["sha256"], real["size"])
    assert pack(str(src), files, str(out), fmt, EPOCH, check_mode=True)["changed"] is False
    (src / "app" / "main.py").write_text("print('changed')\n")
    before = out.read_bytes()
    assert pack(str(src), files, str(out), fmt, EPOCH, check_mode=True)["changed"] is True
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    ("target", "absolute"),
    [("../outside.txt", False), ("app/../../outside.txt", False), ("/etc/passwd", True)],
)
def test_symlinks_leaving_the_tree_are_refused(tmp_path, target, absolute):
    src = tmp_path / "src"
    files = make_tree(src)
    (src / "escape").symlink_to(target)
    with pytest.raises(ArchiveError, match=r"refusing symlink 'escape' -> .* points outside the tree"):
        pack(str(src), [*files, "escape"], str(tmp_path / "out.tar.gz"), "tar.gz", EPOCH)
    assert not (tmp_path / "out.tar.gz").exists()


def test_symlink_chain_leaving_the_tree_is_refused(tmp_path):
    src = tmp_path / "src"
    (src / "z").mkdir(parents=True)
    (src / "y").symlink_to(".")
    (src / "x").symlink_to("y/z/../..")
    with pytest.raises(ArchiveError, match="'x'"):
        pack(str(src), ["x", "y", "z"], str(tmp_path / "out.zip"), "zip", EPOCH)


def test_fifo_socket_and_device_are_refused_by_name(tmp_path):
    src = tmp_path / "s"
    src.mkdir()
    os.mkfifo(src / "pipe")
    with pytest.raises(ArchiveError, match="refusing 'pipe': it is a fifo"):
        pack(str(src), ["pipe"], str(tmp_path / "o.tar.gz"), "tar.gz", EPOCH)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(src / "sock"))
        with pytest.raises(ArchiveError, match="refusing 'sock': it is a socket"):
            pack(str(src), ["sock"], str(tmp_path / "o.zip"), "zip", EPOCH)
    finally:
        sock.close()
    try:
        os.mknod(src / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        return  # creating device nodes needs CAP_MKNOD
    with pytest.raises(ArchiveError, match="refusing 'null': it is a character device"):
        pack(str(src), ["null"], str(tmp_path / "o.tar.gz"), "tar.gz", EPOCH)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x", "a/../../x", ""])
def test_paths_outside_the_root_are_refused(tmp_path, bad):
    (tmp_path / "src").mkdir()
    with pytest.raises(ArchiveError):
        pack(str(tmp_path / "src"), [bad], str(tmp_path / "o.tar.gz"), "tar.gz", EPOCH)


def test_bad_arguments_are_refused(tmp_path):
    files = make_tree(tmp_path / "src")
    with pytest.raises(ArchiveError, match="unknown archive format 'rar'"):
        pack(str(tmp_path / "src"), files, str(tmp_path / "o.rar"), "rar", EPOCH)
    with pytest.raises(ArchiveError, match="mtime"):
        pack(str(tmp_path / "src"), files, str(tmp_path / "o.zip"), "zip", -1)
    with pytest.raises(ArchiveError, match="compression level"):
        pack(str(tmp_path / "src"), files, str(tmp_path / "o.zip"), "zip", EPOCH, compresslevel=11)


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_large_files_are_streamed_not_loaded(tmp_path, fmt):
    src = tmp_path / "src"
    src.mkdir()
    with open(src / "big.bin", "wb") as handle:
        for _round in range(48):
            handle.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        result = pack(str(src), ["big.bin"], str(tmp_path / f"o.{fmt}"), fmt, EPOCH, compresslevel=1)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["size"] > 48 * 1024 * 1024
    assert peak < 16 * 1024 * 1024, f"peak Python memory {peak} bytes while packing a 48 MiB file"
