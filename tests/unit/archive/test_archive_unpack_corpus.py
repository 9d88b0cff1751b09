"""safe_unpack against a corpus of crafted malicious tar and zip files.

Every malicious archive starts with a harmless member, so a refusal also proves that nothing
extracted before the bad member survives. After each refusal the whole test directory must be
exactly as before: no target, no temporary directory, nothing written outside.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._archive import ArchiveError, pack, safe_unpack

MiB = 1024 * 1024


# --------------------------------------------------------------------------------------------- builders


def tar_member(name, kind="file", data=b"", linkname="", mode=0o644, size=None):
    return {"name": name, "kind": kind, "data": data, "linkname": linkname, "mode": mode, "size": size}


def make_tar(path: Path, members, fmt=tarfile.GNU_FORMAT, compression="gz"):
    types = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
        "chr": tarfile.CHRTYPE,
        "blk": tarfile.BLKTYPE,
        "fifo": tarfile.FIFOTYPE,
    }
    with tarfile.open(path, f"w:{compression}" if compression else "w", format=fmt) as archive:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            info.type = types[m["kind"]]
            info.mode = m["mode"]
            info.linkname = m["linkname"]
            info.mtime = 1_600_000_000
            if m["kind"] in ("chr", "blk"):
                info.devmajor, info.devminor = 1, 3
            data = m["data"]
            if m["kind"] == "file":
                info.size = len(data) if m["size"] is None else m["size"]
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)


def zip_member(name, kind="file", data=b"", mode=0o644):
    return {"name": name, "kind": kind, "data": data, "mode": mode}


def make_zip(path: Path, members):
    types = {
        "file": stat.S_IFREG,
        "dir": stat.S_IFDIR,
        "symlink": stat.S_IFLNK,
        "chr": stat.S_IFCHR,
        "fifo": stat.S_IFIFO,
        "sock": stat.S_IFSOCK,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for m in members:
                info = zipfile.ZipInfo(m["name"], date_time=(2020, 1, 1, 0, 0, 0))
                info.create_system = 3
                info.external_attr = (types[m["kind"]] | m["mode"]) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, m["data"])


def lie_about_zip_sizes(path: Path, member: str, declared: int) -> None:
    """Patch the uncompressed size of ``member`` in its local and central headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    central = -1
    name = member.encode()
    index = data.find(b"PK\x01\x02")
    while index >= 0:
        name_len = struct.unpack_from("<H", data, index + 28)[0]
        if bytes(data[index + 46 : index + 46 + name_len]) == name:
            central = index
            break
        index = data.find(b"PK\x01\x02", index + 4)
    assert central >= 0
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------------------------- corpus


@dataclass
class Case:
    id: str
    suffix: str
    build: Callable[[Path, Path], None]  # (archive path, test directory)
    expect: str
    limits: dict | None = None


OK_TAR = tar_member("ok.txt", data=b"harmless\n")
OK_ZIP = zip_member("ok.txt", data=b"harmless\n")
ESCAPE = "../../outside/pwned"  # relative to <tmp>/deploy/release


def _tar(*members, **kw):
    return lambda path, _root: make_tar(path, [OK_TAR, *members], **kw)


def _zip(*members):
    return lambda path, _root: make_zip(path, [OK_ZIP, *members])


def _abs_tar(path, root):
    make_tar(path, [OK_TAR, tar_member(str(root / "outside" / "pwned"), data=b"x")])


def _abs_zip(path, root):
    make_zip(path, [OK_ZIP, zip_member(str(root / "outside" / "pwned"), data=b"x")])


def _abs_symlink_tar(path, root):
    make_tar(path, [OK_TAR, tar_member("link", "symlink", linkname=str(root / "outside"))])


def _abs_symlink_then_write_tar(path, root):
    make_tar(
        path,
        [OK_TAR, tar_member("link", "symlink", linkname=str(root / "outside")), tar_member("link/pwned", data=b"x")],
    )


def _abs_symlink_zip(path, root):
    make_zip(path, [OK_ZIP, zip_member("link", "symlink", data=str(root / "outside").encode(), mode=0o777)])


def _abs_hardlink_tar(path, root):
    make_tar(path, [OK_TAR, tar_member("h", "hardlink", linkname=str(root / "outside" / "keep.txt"))])


def _truncated_tar(path, _root):
    make_tar(path, [OK_TAR, tar_member("big.bin", data=os.urandom(256 * 1024))])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _lying_zip(path, _root):
    make_zip(path, [OK_ZIP, zip_member("bomb.bin", data=b"\0" * MiB)])
    lie_about_zip_sizes(path, "bomb.bin", 10)


def _not_an_archive(path, _root):
    path.write_bytes(b"this is not an archive at all\n" * 40)


CASES = [
    # names
    Case("tar-absolute-path", "tar.gz", _abs_tar, "has an absolute path"),
    Case("tar-dotdot", "tar.gz", _tar(tar_member(ESCAPE, data=b"x")), "'..' component"),
    Case("tar-dotdot-inner", "tar.gz", _tar(tar_member("a/b/../../../../outside/pwned", data=b"x")), "'..'"),
    Case(
        "tar-pax-long-name-dotdot",
        "tar.gz",
        _tar(tar_member("d" * 150 + "/../../../outside/pwned", data=b"x"), fmt=tarfile.PAX_FORMAT),
        "'..' component",
    ),
    Case("tar-plain-uncompressed-dotdot", "tar", _tar(tar_member(ESCAPE, data=b"x"), compression=""), "'..'"),
    Case("tar-bz2-dotdot", "tar.bz2", _tar(tar_member(ESCAPE, data=b"x"), compression="bz2"), "'..'"),
    Case("zip-absolute-path", "zip", _abs_zip, "has an absolute path"),
    Case("zip-dotdot", "zip", _zip(zip_member(ESCAPE, data=b"x")), "'..' component"),
    Case("zip-backslash-dotdot", "zip", _zip(zip_member("..\\..\\outside\\pwned", data=b"x")), "backslash"),
    Case("zip-drive-letter", "zip", _zip(zip_member("C:/outside/pwned", data=b"x")), "absolute path"),
    # symlinks
    Case("tar-symlink-absolute", "tar.gz", _abs_symlink_tar, "outside the target directory"),
    Case("tar-symlink-dotdot", "tar.gz", _tar(tar_member("link", "symlink", linkname="../../outside")), "outside"),
    Case(
        "tar-symlink-deep-dotdot",
        "tar.gz",
        _tar(tar_member("a/b/link", "symlink", linkname="../../../x")),
        "outside the target directory",
    ),
    Case("tar-symlink-absolute-then-write-through-it", "tar.gz", _abs_symlink_then_write_tar, "outside"),
    Case(
        "tar-symlink-inside-then-write-through-it",
        "tar.gz",
        _tar(
            tar_member("sub", "dir", mode=0o755),
            tar_member("link", "symlink", linkname="sub"),
            tar_member("link/pwned", data=b"x"),
        ),
        "written through the symlink 'link'",
    ),
    Case(
        "tar-symlink-chain-escape",
        "tar.gz",
        _tar(
            tar_member("z", "dir", mode=0o755),
            tar_member("y", "symlink", linkname="."),
            tar_member("x", "symlink", linkname="y/z/../.."),
        ),
        "leads outside the target through other links",
    ),
    Case(
        "tar-symlink-replaces-directory",
        "tar.gz",
        _tar(tar_member("a/f.txt", data=b"x"), tar_member("a", "symlink", linkname="../../outside")),
        "outside",
    ),
    Case(
        "tar-symlink-inside-replaces-directory",
        "tar.gz",
        _tar(tar_member("a/f.txt", data=b"x"), tar_member("a", "symlink", linkname="ok.txt")),
        "already has a directory",
    ),
    Case("zip-symlink-absolute", "zip", _abs_symlink_zip, "outside the target directory"),
    Case(
        "zip-symlink-dotdot", "zip", _zip(zip_member("link", "symlink", data=b"../../outside", mode=0o777)), "outside"
    ),
    Case(
        "zip-symlink-then-write-through-it",
        "zip",
        _zip(
            zip_member("sub/", "dir", mode=0o755),
            zip_member("link", "symlink", data=b"sub", mode=0o777),
            zip_member("link/pwned", data=b"x"),
        ),
        "written through the symlink",
    ),
    # hard links
    Case("tar-hardlink-absolute", "tar.gz", _abs_hardlink_tar, "hard link"),
    Case(
        "tar-hardlink-dotdot",
        "tar.gz",
        _tar(tar_member("h", "hardlink", linkname="../../outside/keep.txt")),
        "hard link",
    ),
    Case("tar-hardlink-missing-target", "tar.gz", _tar(tar_member("h", "hardlink", linkname="nothere")), "hard link"),
    Case(
        "tar-hardlink-through-symlink",
        "tar.gz",
        _tar(
            tar_member("link", "symlink", linkname="."),
            tar_member("h", "hardlink", linkname="link/ok.txt"),
        ),
        "not an earlier file",
    ),
    Case(
        "tar-hardlink-to-directory",
        "tar.gz",
        _tar(tar_member("d", "dir", mode=0o755), tar_member("h", "hardlink", linkname="d")),
        "not an earlier file",
    ),
    # special files
    Case("tar-character-device", "tar.gz", _tar(tar_member("dev/null", "chr")), "device file"),
    Case("tar-block-device", "tar.gz", _tar(tar_member("dev/sda", "blk")), "device file"),
    Case("tar-fifo", "tar.gz", _tar(tar_member("pipe", "fifo")), "is a fifo"),
    Case("zip-character-device", "zip", _zip(zip_member("dev/null", "chr")), "character device"),
    Case("zip-fifo", "zip", _zip(zip_member("pipe", "fifo")), "is a fifo"),
    Case("zip-socket", "zip", _zip(zip_member("sock", "sock")), "is a socket"),
    # bombs
    Case(
        "tar-size-bomb-one-member",
        "tar.gz",
        _tar(tar_member("zeros.bin", data=b"\0" * (2 * MiB))),
        "bytes in total",
        {"max_total_size": MiB},
    ),
    Case(
        "tar-size-bomb-many-members",
        "tar.gz",
        _tar(*(tar_member(f"part{i}.bin", data=b"\0" * (300 * 1024)) for i in range(5))),
        "bytes in total",
        {"max_total_size": MiB},
    ),
    Case(
        "tar-file-count-bomb",
        "tar.gz",
        _tar(*(tar_member(f"f{i:04d}") for i in range(200))),
        "limit of 100 entries",
        {"max_files": 100},
    ),
    Case(
        "zip-size-bomb",
        "zip",
        _zip(zip_member("zeros.bin", data=b"\0" * (2 * MiB))),
        "bytes in total",
        {"max_total_size": MiB},
    ),
    Case("zip-lying-sizes", "zip", _lying_zip, "nothing was extracted"),
    Case(
        "zip-file-count-bomb",
        "zip",
        _zip(*(zip_member(f"f{i:04d}") for i in range(200))),
        "limit of 100 entries",
        {"max_files": 100},
    ),
    # duplicates and conflicts
    Case("tar-duplicate-file", "tar.gz", _tar(tar_member("ok.txt", data=b"evil\n")), "duplicate entry"),
    Case(
        "tar-duplicate-after-normalising",
        "tar.gz",
        _tar(tar_member("a/b.txt", data=b"1"), tar_member("a/./b.txt", data=b"2")),
        "duplicate entry",
    ),
    Case(
        "tar-duplicate-symlink-over-file",
        "tar.gz",
        _tar(tar_member("ok.txt", "symlink", linkname="../../outside/keep.txt")),
        "outside",
    ),
    Case(
        "tar-duplicate-inside-symlink-over-file",
        "tar.gz",
        _tar(tar_member("ok.txt", "symlink", linkname="elsewhere.txt")),
        "duplicate entry",
    ),
    Case(
        "tar-file-below-file", "tar.gz", _tar(tar_member("ok.txt/inner", data=b"x")), "written below the file 'ok.txt'"
    ),
    Case("zip-duplicate-file", "zip", _zip(zip_member("ok.txt", data=b"evil\n")), "duplicate entry"),
    # damaged input
    Case("tar-truncated", "tar.gz", _truncated_tar, "nothing was extracted"),
    Case("not-an-archive", "bin", _not_an_archive, "not a tar or zip archive"),
]


def tree_state(root: Path) -> dict:
    """Everything under root: type, mode, link target, and size and mtime of each file.

    Directory mtimes are left out: creating and removing the temporary directory touches the parent.
    """
    state = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        target = os.readlink(path) if path.is_symlink() else None
        changes = None if stat.S_ISDIR(st.st_mode) else (st.st_size, st.st_mtime_ns)
        state[str(path.relative_to(root))] = (st.st_mode, changes, target)
    return state


@pytest.fixture
def arena(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "keep.txt").write_text("keep\n")
    (tmp_path / "deploy").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malicious_archive_is_refused_and_leaves_nothing_behind(arena, case):
    archive = arena / f"evil.{case.suffix}"
    case.build(archive, arena)
    before = tree_state(arena)
    dest = arena / "deploy" / "release"

    with pytest.raises(ArchiveError) as refused:
        safe_unpack(str(archive), str(dest), **(case.limits or {}))

    message = str(refused.value)
    assert case.expect in message
    assert "\n" not in message
    assert tree_state(arena) == before, "the refusal changed files on disk"
    assert not (arena / "outside" / "pwned").exists()
    assert not os.path.lexists(dest)


def test_every_refusal_names_the_bad_member(arena):
    archive = arena / "evil.tar.gz"
    make_tar(archive, [OK_TAR, tar_member("fine/also-fine.txt", data=b"1"), tar_member(ESCAPE, data=b"x")])
    with pytest.raises(ArchiveError) as refused:
        safe_unpack(str(archive), str(arena / "deploy" / "release"))
    assert f"member '{ESCAPE}'" in str(refused.value)
    assert refused.value.details["member"] == ESCAPE


def test_control_characters_in_a_member_name_stay_on_one_line(arena):
    archive = arena / "evil.tar.gz"
    make_tar(archive, [OK_TAR, tar_member("../evil\nname\x1b[31m", data=b"x")])
    with pytest.raises(ArchiveError) as refused:
        safe_unpack(str(archive), str(arena / "deploy" / "release"))
    assert "\n" not in str(refused.value) and "\x1b" not in str(refused.value)
    assert "\\x0a" in str(refused.value)


def test_setuid_setgid_and_sticky_bits_are_stripped(arena):
    archive = arena / "modes.tar.gz"
    make_tar(
        archive,
        [
            tar_member("bin", "dir", mode=0o2755),
            tar_member("bin/su", data=b"#!/bin/sh\n", mode=0o4755),
            tar_member("bin/group", data=b"x", mode=0o2750),
            tar_member("shared", "dir", mode=0o1777),
            tar_member("plain.txt", data=b"x", mode=0o640),
        ],
    )
    dest = arena / "deploy" / "release"
    result = safe_unpack(str(archive), str(dest))
    assert stat.S_IMODE((dest / "bin" / "su").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "bin" / "group").stat().st_mode) == 0o750
    assert stat.S_IMODE((dest / "bin").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "shared").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "plain.txt").stat().st_mode) == 0o640
    assert result["modes_stripped"] == ["bin", "bin/group", "bin/su", "shared"]


def test_group_and_other_write_bits_are_cleared(arena):
    """As tarfile's data filter: nobody but the owner may rewrite deployed code."""
    archive = arena / "modes.tar.gz"
    make_tar(
        archive,
        [
            tar_member("app", "dir", mode=0o777),
            tar_member("app/config.py", data=b"x", mode=0o666),
            tar_member("app/run.sh", data=b"#!/bin/sh\n", mode=0o777),
            tar_member("app/group.txt", data=b"x", mode=0o664),
            tar_member("app/odd.txt", data=b"x", mode=0o611),
            tar_member("app/private.txt", data=b"x", mode=0o400),
            tar_member("tmp", "dir", mode=0o1777),
        ],
    )
    dest = arena / "deploy" / "release"
    result = safe_unpack(str(archive), str(dest))
    modes = {
        name: stat.S_IMODE((dest / name).stat().st_mode)
        for name in ("app", "app/config.py", "app/run.sh", "app/group.txt", "app/odd.txt", "app/private.txt", "tmp")
    }
    assert modes == {
        "app": 0o755,
        "app/config.py": 0o644,
        "app/run.sh": 0o755,
        "app/group.txt": 0o644,
        "app/odd.txt": 0o600,  # execute bits only where the owner has one
        "app/private.txt": 0o600,  # the owner keeps read and write
        "tmp": 0o755,
    }
    assert result["modes_stripped"] == ["app", "app/config.py", "app/group.txt", "app/odd.txt", "app/run.sh", "tmp"]


def test_zip_setuid_bit_is_stripped(arena):
    archive = arena / "modes.zip"
    make_zip(archive, [zip_member("tool", data=b"x", mode=0o4755)])
    dest = arena / "deploy" / "release"
    safe_unpack(str(archive), str(dest))
    assert stat.S_IMODE((dest / "tool").stat().st_mode) == 0o755


def test_zip_world_writable_modes_are_cleared(arena):
    archive = arena / "modes.zip"
    make_zip(
        archive,
        [zip_member("www/", "dir", mode=0o777), zip_member("www/index.php", data=b"x", mode=0o666)],
    )
    dest = arena / "deploy" / "release"
    safe_unpack(str(archive), str(dest))
    assert stat.S_IMODE((dest / "www").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "www" / "index.php").stat().st_mode) == 0o644


def test_links_inside_the_tree_are_restored(arena):
    archive = arena / "links.tar.gz"
    make_tar(
        archive,
        [
            tar_member("./", "dir", mode=0o755),
            tar_member("./data/", "dir", mode=0o755),
            tar_member("./data/file.txt", data=b"content\n"),
            tar_member("./current", "symlink", linkname="data"),
            tar_member("./data/up", "symlink", linkname="../data/file.txt"),
            tar_member("./copy.txt", "hardlink", linkname="./data/file.txt"),
            tar_member("./dangling", "symlink", linkname="not/yet/there"),
        ],
    )
    dest = arena / "deploy" / "release"
    result = safe_unpack(str(archive), str(dest))
    assert (dest / "current" / "file.txt").read_text() == "content\n"
    assert (dest / "data" / "up").read_text() == "content\n"
    assert (dest / "copy.txt").stat().st_ino == (dest / "data" / "file.txt").stat().st_ino
    assert os.readlink(dest / "dangling") == "not/yet/there"
    assert (result["files"], result["symlinks"], result["hardlinks"]) == (1, 3, 1)


def test_symlink_to_parent_inside_the_tree_is_allowed(arena):
    archive = arena / "ok.zip"
    make_zip(archive, [zip_member("a/b/", "dir", mode=0o755), zip_member("a/b/up", "symlink", data=b"..", mode=0o777)])
    dest = arena / "deploy" / "release"
    safe_unpack(str(archive), str(dest))
    assert os.path.realpath(dest / "a" / "b" / "up") == str((dest / "a").resolve())


def test_a_non_empty_target_is_refused_and_left_untouched(arena):
    archive = arena / "ok.tar.gz"
    make_tar(archive, [OK_TAR])
    dest = arena / "deploy" / "release"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    with pytest.raises(ArchiveError, match="not empty"):
        safe_unpack(str(archive), str(dest))
    assert sorted(p.name for p in dest.iterdir()) == ["old.txt"]
    assert sorted(p.name for p in (arena / "deploy").iterdir()) == ["release"]


def test_an_empty_target_directory_is_filled(arena):
    archive = arena / "ok.tar.gz"
    make_tar(archive, [OK_TAR])
    dest = arena / "deploy" / "release"
    dest.mkdir()
    safe_unpack(str(archive), str(dest))
    assert (dest / "ok.txt").read_text() == "harmless\n"


def test_replace_swaps_the_whole_tree(arena):
    archive = arena / "ok.zip"
    make_zip(archive, [OK_ZIP])
    dest = arena / "deploy" / "release"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    safe_unpack(str(archive), str(dest), replace=True)
    assert sorted(p.name for p in dest.iterdir()) == ["ok.txt"]
    assert sorted(p.name for p in (arena / "deploy").iterdir()) == ["release"]


def test_a_refused_replace_keeps_the_old_tree(arena):
    archive = arena / "evil.zip"
    make_zip(archive, [OK_ZIP, zip_member(ESCAPE, data=b"x")])
    dest = arena / "deploy" / "release"
    dest.mkdir()
    (dest / "old.txt").write_text("old")
    with pytest.raises(ArchiveError):
        safe_unpack(str(archive), str(dest), replace=True)
    assert sorted(p.name for p in (arena / "deploy").iterdir()) == ["release"]
    assert (dest / "old.txt").read_text() == "old"


@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
def test_packed_archives_round_trip(tmp_path, fmt):
    src = tmp_path / "src"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "run").write_text("#!/bin/sh\necho hi\n")
    (src / "bin" / "run").chmod(0o755)
    (src / "data.bin").write_bytes(os.urandom(300_000))
    (src / "latest").symlink_to("bin/run")
    archive = tmp_path / f"out.{fmt}"
    pack(str(src), ["bin/run", "data.bin", "latest"], str(archive), fmt, 1_700_000_000)

    dest = tmp_path / "release"
    result = safe_unpack(str(archive), str(dest))
    assert result["format"] == fmt
    assert (dest / "data.bin").read_bytes() == (src / "data.bin").read_bytes()
    assert os.readlink(dest / "latest") == "bin/run"
    assert stat.S_IMODE((dest / "bin" / "run").stat().st_mode) == 0o755
    assert int((dest / "data.bin").stat().st_mtime) == 1_700_000_000


def test_archives_from_gnu_tar_unpack(tmp_path):
    import shutil
    import subprocess

    from tests.support.paths import require_binary

    require_binary("tar")
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f.txt").write_text("gnu\n")
    (src / "l").symlink_to("d/f.txt")
    archive = tmp_path / "gnu.tgz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(src), "."], check=True)
    dest = tmp_path / "release"
    safe_unpack(str(archive), str(dest))
    assert (dest / "l").read_text() == "gnu\n"
    shutil.rmtree(dest)


def test_limits_must_be_numbers(tmp_path):
    archive = tmp_path / "ok.tar.gz"
    make_tar(archive, [OK_TAR])
    with pytest.raises(ArchiveError, match="max_files"):
        safe_unpack(str(archive), str(tmp_path / "release"), max_files="many")
    with pytest.raises(ArchiveError, match="unknown archive format"):
        safe_unpack(str(archive), str(tmp_path / "release"), fmt="rar")
    assert not (tmp_path / "release").exists()
