"""safe_unpack refuses archives that were cut short or corrupted, wherever the cut falls.

tarfile alone stops quietly at a missing or cut header, and never checks the gzip trailer, so
half an archive used to unpack as a smaller, complete-looking release. Every cut below must be
refused with the one "truncated or damaged" line, and leave nothing beside the target.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._archive import ArchiveError, pack, safe_unpack

BLOCK = tarfile.BLOCKSIZE


def make_tree(root: Path, count: int = 30) -> list[str]:
    """Small text files, so that headers make up much of the tar stream (the worst case)."""
    names = []
    for index in range(count):
        name = f"pkg/mod{index:03d}.py"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE = {index}\n" * (index % 7 + 1))
        names.append(name)
    return names


def tar_bytes(members: dict[str, bytes], compression: str = "", fmt=tarfile.GNU_FORMAT) -> tuple[bytes, list[int]]:
    """An archive of ``members`` and the offsets of its member headers in the uncompressed stream,
    the offset of the end-of-archive marker last."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}" if compression else "w", format=fmt) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    data = buffer.getvalue()
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
    ends = [member.offset_data + (member.size + BLOCK - 1) // BLOCK * BLOCK for member in members]
    return data, [member.offset for member in members] + ends[-1:]


MEMBERS = {f"app/file{index:02d}.txt": (f"line {index}\n" * (index * 13)).encode() for index in range(12)}


@pytest.fixture
def arena(tmp_path):
    (tmp_path / "deploy").mkdir()
    return tmp_path


def assert_refused_cleanly(arena: Path, data: bytes, suffix: str) -> str:
    archive = arena / f"artifact.{suffix}"
    archive.write_bytes(data)
    dest = arena / "deploy" / "release"
    with pytest.raises(ArchiveError) as refused:
        safe_unpack(str(archive), str(dest))
    message = str(refused.value)
    assert "\n" not in message
    assert os.listdir(arena / "deploy") == [], "a refused archive left something beside the target"
    return message


def assert_unpacks(arena: Path, data: bytes, suffix: str) -> dict:
    archive = arena / f"artifact.{suffix}"
    archive.write_bytes(data)
    dest = arena / "deploy" / "release"
    result = safe_unpack(str(archive), str(dest))
    shutil.rmtree(dest)
    return result


def test_a_tar_gz_cut_anywhere_is_refused(arena):
    tree = arena / "tree"
    files = make_tree(tree)
    packed = pack(str(tree), files, str(arena / "whole.tar.gz"), "tar.gz", mtime=1_700_000_000)
    data = Path(packed["path"]).read_bytes()
    assert assert_unpacks(arena, data, "tar.gz")["files"] == len(files)
    # below 10 bytes the gzip header itself is cut: refused as an unknown format
    cuts = sorted(set(range(10, len(data), 61)) | {len(data) // 2} | set(range(len(data) - 8, len(data))))
    for cut in cuts:
        message = assert_refused_cleanly(arena, data[:cut], "tar.gz")
        assert "archive 'artifact.tar.gz' is truncated or damaged" in message, (cut, message)
        assert "upload or fetch the archive again" in message


def test_a_cut_inside_the_gzip_trailer_names_the_gzip_stream(arena):
    data, _members = tar_bytes(MEMBERS, "gz")
    for cut in range(len(data) - 8, len(data)):  # the CRC-32 and the size
        assert "the gzip stream ends before its end marker" in assert_refused_cleanly(arena, data[:cut], "tar.gz")


def test_a_gzip_crc_mismatch_is_refused(arena):
    data = bytearray(tar_bytes(MEMBERS, "gz")[0])
    data[-8] ^= 0xFF
    assert "truncated or damaged" in assert_refused_cleanly(arena, bytes(data), "tar.gz")


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["gnu", "pax"])
def test_a_plain_tar_cut_at_or_inside_any_header_or_member_is_refused(arena, fmt):
    members = dict(MEMBERS)
    members["app/" + "long-name-" * 12 + ".txt"] = b"a name longer than 100 bytes needs an extra header\n"
    data, offsets = tar_bytes(members, fmt=fmt)
    end = offsets[-1]
    cuts = set()
    for offset in offsets[1:]:
        cuts |= {offset, offset + 1, offset + 100, offset + BLOCK - 1}  # at and inside a header
    cuts |= {offset + BLOCK + 3 for offset in offsets[:-1]}  # inside member data (or a long-name header)
    cuts |= {end + BLOCK, end + 2 * BLOCK - 1}  # inside the end-of-archive marker
    for cut in sorted(cuts):
        message = assert_refused_cleanly(arena, data[:cut], "tar")
        assert "truncated or damaged" in message, (cut, message)
    assert assert_unpacks(arena, data[: end + 2 * BLOCK], "tar")["files"] == len(members)  # record padding may go


def test_a_cut_at_a_header_boundary_says_the_end_marker_is_missing(arena):
    data, offsets = tar_bytes(MEMBERS)
    for offset in (offsets[len(offsets) // 2], offsets[-1]):
        message = assert_refused_cleanly(arena, data[:offset], "tar")
        assert f"the tar data ends at byte {offset} without the end-of-archive marker" in message


def test_a_gzip_of_a_cut_tar_is_refused(arena):
    """The gzip stream is whole, the tar inside it is not: its end-of-archive marker is checked too."""
    import gzip

    data, offsets = tar_bytes(MEMBERS)
    message = assert_refused_cleanly(arena, gzip.compress(data[: offsets[5]]), "tar.gz")
    assert "without the end-of-archive marker" in message


@pytest.mark.parametrize("compression", ["bz2", "xz"])
def test_bz2_and_xz_tars_cut_anywhere_are_refused(arena, compression):
    data, _members = tar_bytes(MEMBERS, compression)
    assert assert_unpacks(arena, data, f"tar.{compression}")["files"] == len(MEMBERS)
    for cut in sorted(set(range(6, len(data), max(1, len(data) // 40))) | {len(data) - 1}):
        assert "truncated or damaged" in assert_refused_cleanly(arena, data[:cut], f"tar.{compression}"), cut


def test_a_garbled_header_in_the_middle_is_refused(arena):
    data, offsets = tar_bytes(MEMBERS)
    garbled = bytearray(data)
    garbled[offsets[4] + 10] ^= 0x55  # the header checksum no longer matches
    message = assert_refused_cleanly(arena, bytes(garbled), "tar")
    assert f"the member header at byte {offsets[4]} is unreadable" in message


def test_data_after_the_end_of_archive_marker_is_refused(arena):
    """Two tars concatenated: tar would show only the first; deploying half is what we refuse."""
    first, _members = tar_bytes(dict(list(MEMBERS.items())[:3]))
    second, _members = tar_bytes(dict(list(MEMBERS.items())[3:]))
    assert "data after the end-of-archive marker" in assert_refused_cleanly(arena, first + second, "tar")


def test_zero_padding_after_the_end_marker_is_accepted(arena):
    data, _members = tar_bytes(MEMBERS)
    assert assert_unpacks(arena, data + bytes(20 * BLOCK), "tar")["files"] == len(MEMBERS)


def test_a_zip_cut_anywhere_is_refused(arena):
    tree = arena / "tree"
    files = make_tree(tree)
    packed = pack(str(tree), files, str(arena / "whole.zip"), "zip", mtime=1_700_000_000)
    data = Path(packed["path"]).read_bytes()
    assert assert_unpacks(arena, data, "zip")["files"] == len(files)
    for cut in sorted(set(range(1, len(data), 67)) | set(range(len(data) - 22, len(data)))):
        message = assert_refused_cleanly(arena, data[:cut], "zip")
        assert "truncated or damaged" in message or "not a tar or zip archive" in message, (cut, message)


def test_a_zip_cut_just_after_a_zip_stored_inside_it_is_refused(arena):
    """The cut leaves the inner zip's end record last: it must not be read as the whole archive."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("inner.txt", "inside\n")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("app.txt", "outside\n")
        archive.writestr(zipfile.ZipInfo("vendor/lib.zip"), inner.getvalue())  # stored, not deflated
    data = outer.getvalue()
    cut = data.index(inner.getvalue()) + len(inner.getvalue())
    message = assert_refused_cleanly(arena, data[:cut], "zip")
    assert "central directory does not describe the start of the file" in message


def test_a_zip_member_with_a_bad_crc_is_refused(arena):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.txt", "original content\n")
    data = bytearray(buffer.getvalue())
    where = data.index(b"original")
    data[where] ^= 0x20
    assert "truncated or damaged" in assert_refused_cleanly(arena, bytes(data), "zip")
