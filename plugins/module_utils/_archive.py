# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reproducible packing and safe unpacking of tar and zip archives.

This is the only code in the collection that reads or writes tar and zip files.

``pack`` writes the same bytes for the same inputs: entries sorted by name, one fixed
mtime, uid/gid 0 with empty owner names, modes normalised to 0644/0755 (symlinks 0777),
a gzip header without file name or timestamp, zip entries with a fixed date and the
unix creator system. Archives are streamed: file contents are never held in memory.

``safe_unpack`` extracts into a fresh temporary directory beside the destination and
renames it into place only when every member was accepted and written. It rejects
absolute names, ``..`` components, links that leave the target, writes through links,
device/fifo/socket members, duplicates, archive bombs (total size, entry count) and archives
that were cut short or corrupted (tar must reach its end-of-archive marker, compressed streams
their end marker and checksums, zip its central directory and member CRCs). Modes are cleaned
as tarfile's ``data`` filter does (no setuid/setgid/sticky, no group/other write); ownership is
never changed.
"""

from __future__ import annotations

import bz2
import calendar
import gzip
import hashlib
import lzma
import os
import posixpath
import queue
import re
import shutil
import stat
import struct
import tarfile
import tempfile
import threading
import time
import zipfile
import zlib

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_output, current_umask, default_mode
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError


class ArchiveError(ConveyorError):
    """An archive could not be written, or was refused or unreadable while unpacking."""


FORMATS = ("tar.gz", "zip")
UNPACK_FORMATS = ("tar.gz", "tgz", "tar", "tar.bz2", "tar.xz", "zip")
DEFAULT_MAX_TOTAL_SIZE = 4 * 1024**3
DEFAULT_MAX_FILES = 100_000
DEFAULT_COMPRESSLEVEL = 6
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest date a zip entry can hold
MAX_MTIME = 8**11 - 1  # the largest mtime a plain ustar header holds; later dates would need pax records
CHUNK = 1024 * 1024
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS "unknown": same bytes everywhere
_MAX_SYMLINK_TARGET = 4096
_TAR_BUFSIZE = 64 * 1024  # what tarfile reads from the stream at a time
_TAR_TAIL = 2 * _TAR_BUFSIZE + 2 * tarfile.BLOCKSIZE  # enough to see everything after the last member
_MAX_TAR_PADDING = 16 * 1024 * 1024  # zeros after the end-of-archive marker (record padding); more is not tar
_END_OF_ARCHIVE = bytes(2 * tarfile.BLOCKSIZE)
# what tarfile, zipfile and the decompressors raise for a cut or corrupted archive
_DAMAGE = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError)
_DRIVE = re.compile(r"^[A-Za-z]:")


def shown(name) -> str:
    """A member name safe to put in a one-line message: control characters escaped, length bounded."""
    text = name if isinstance(name, str) else repr(name)
    text = "".join(ch if 0x20 <= ord(ch) != 0x7F else f"\\x{ord(ch):02x}" for ch in text)
    return text if len(text) <= 200 else text[:200] + "..."


UNPACK_REMEDY = "nothing was extracted; upload or fetch the archive again"


def damaged(path: str, detail: str, remedy: str = UNPACK_REMEDY) -> ArchiveError:
    """The one error for an archive that was cut short or corrupted: nothing in it can be trusted."""
    return ArchiveError(
        f"archive '{os.path.basename(path)}' is truncated or damaged: {shown(detail)}; {remedy}",
        archive=path,
        damaged=True,
    )


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


class _DigestSink:
    """Write-only stream that hashes and counts what passes through, optionally into a file.

    It refuses to seek, so zipfile always writes data descriptors: the bytes are the same whether
    the archive goes to a file or only to the digest (check mode).
    """

    def __init__(self, fileobj=None):
        self._file = fileobj
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        self._sha.update(data)
        self.size += len(data)
        if self._file is not None:
            self._file.write(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def seek(self, *_args):
        raise OSError("not seekable")

    def seekable(self) -> bool:
        return False

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class _GzipWriter:
    """One gzip member whose deflate, crc32 and sink writes run in a second thread.

    zlib and hashlib release the GIL, so producing the tar stream (reading files, headers)
    overlaps with compression as in ``tar | gzip``. Blocks are handed over at fixed sizes of the
    input stream, so the output never depends on thread timing.
    """

    def __init__(self, sink, level: int, block: int = CHUNK):
        self._sink = sink
        self._block = block
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 8, zlib.Z_DEFAULT_STRATEGY)
        self._crc = 0
        self._size = 0
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._position = 0
        self._error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        sink.write(_GZIP_HEADER)
        self._thread = threading.Thread(target=self._work, name="conveyor-gzip", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            if self._error is not None:
                continue  # keep draining so the producer never blocks on a dead consumer
            try:
                self._crc = zlib.crc32(block, self._crc)
                self._size += len(block)
                out = self._compressor.compress(block)
                if out:
                    self._sink.write(out)
            except BaseException as exc:  # handed to the producer thread
                self._error = exc

    def _hand_over(self) -> None:
        if self._error is not None:
            raise self._error
        if self._pending:
            data = b"".join(self._pending)
            self._pending = []
            self._pending_size = 0
            for start in range(0, len(data), self._block):
                self._queue.put(data[start : start + self._block])

    def write(self, data) -> int:
        size = len(data)
        self._pending.append(bytes(data))
        self._pending_size += size
        self._position += size
        if self._pending_size >= self._block:
            # hand over whole blocks only; the remainder stays, so block boundaries are fixed
            data = b"".join(self._pending)
            cut = len(data) - len(data) % self._block
            self._pending = [data[cut:]] if cut < len(data) else []
            self._pending_size = len(data) - cut
            if self._error is not None:
                raise self._error
            for start in range(0, cut, self._block):
                self._queue.put(data[start : start + self._block])
        return size

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._hand_over()
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._sink.write(self._compressor.flush())
        self._sink.write(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))

    def abort(self) -> None:
        self._error = self._error or ArchiveError("archive writing was aborted")
        self._queue.put(None)
        self._thread.join()


def _relative_name(rel: str) -> str:
    """Normalise one relative path given to ``pack``; refuse anything that is not plainly inside."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        raise ArchiveError(f"cannot pack {shown(rel)}: not a usable relative path", member=shown(rel))
    text = rel.replace(os.sep, "/")
    if text.startswith("/") or _DRIVE.match(text):
        raise ArchiveError(f"cannot pack '{shown(rel)}': absolute paths are not allowed", member=shown(rel))
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"cannot pack '{shown(rel)}': '..' components are not allowed", member=shown(rel))
    if not parts:
        raise ArchiveError(f"cannot pack {shown(rel)!r}: it names the root itself", member=shown(rel))
    return "/".join(parts)


def link_escapes(member: str, target: str) -> bool:
    """True when a symlink at ``member`` with ``target`` leaves the tree, judged on the text alone."""
    if not target or target.startswith("/") or _DRIVE.match(target):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member), target))
    return joined == ".." or joined.startswith("../")


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _collect_entries(root: str, files, prefix: str) -> list[tuple[str, str, str, os.stat_result | None]]:
    """(archive name, kind, full path, lstat) for every file and its parent directories, sorted."""
    real_root = os.path.realpath(root)
    prefix_parts = [p for p in (prefix or "").replace(os.sep, "/").split("/") if p not in ("", ".")]
    if ".." in prefix_parts:
        raise ArchiveError(f"prefix '{shown(prefix)}' must not contain '..' components")
    entries: dict[str, tuple[str, str, os.stat_result | None]] = {}
    for index in range(1, len(prefix_parts) + 1):
        entries["/".join(prefix_parts[:index])] = ("dir", "", None)
    for rel in files:
        name = _relative_name(rel)
        full = os.path.join(root, *name.split("/"))
        st = os.lstat(full)
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            target = os.readlink(full)
            if link_escapes(name, target) or not _within(os.path.realpath(full), real_root):
                raise ArchiveError(
                    f"refusing symlink '{shown(name)}' -> '{shown(target)}': it points outside the tree "
                    "(use a relative link to a path inside the tree, or exclude it)",
                    member=shown(name),
                )
            kind = "symlink"
        elif stat.S_ISREG(mode):
            kind = "file"
        elif stat.S_ISDIR(mode):
            kind = "dir"
        else:
            what = _special_kind(mode)
            raise ArchiveError(
                f"refusing '{shown(name)}': it is a {what}; only files, directories and symlinks can be packed "
                "(exclude it)",
                member=shown(name),
            )
        parts = name.split("/")
        for index in range(1, len(parts)):
            parent = "/".join(prefix_parts + parts[:index])
            if parent not in entries:
                entries[parent] = ("dir", "", None)
        entries["/".join([*prefix_parts, name])] = (kind, full, st)
    return [(arcname, *entries[arcname]) for arcname in sorted(entries)]


def _special_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _normal_mode(kind: str, st: os.stat_result | None) -> int:
    if kind == "dir":
        return 0o755
    if kind == "symlink":
        return 0o777
    return 0o755 if st is not None and st.st_mode & 0o111 else 0o644


def _write_tar(entries, out, mtime: int, level: int) -> None:
    gz = _GzipWriter(out, level)
    try:
        archive = tarfile.TarFile(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8")
        archive.copybufsize = 256 * 1024
        for arcname, kind, full, st in entries:
            info = tarfile.TarInfo(arcname)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = _normal_mode(kind, st)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(full)
                archive.addfile(info)
            else:
                info.type = tarfile.REGTYPE
                info.size = st.st_size
                with open(full, "rb") as handle:
                    archive.addfile(info, handle)
        archive.close()
        archive.members = []
        gz.close()
    except BaseException:
        gz.abort()
        raise


def _zip_date(mtime: int) -> tuple:
    return time.gmtime(max(mtime, ZIP_EPOCH))[:6]


def _write_zip(entries, out, mtime: int, level: int) -> None:
    date_time = _zip_date(mtime)
    with zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for arcname, kind, full, st in entries:
            mode = _normal_mode(kind, st)
            info = zipfile.ZipInfo(arcname + ("/" if kind == "dir" else ""), date_time=date_time)
            info.create_system = 3  # unix: the mode bits in external_attr are meaningful
            if kind == "dir":
                info.external_attr = ((stat.S_IFDIR | mode) << 16) | 0x10
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, b"")
            elif kind == "symlink":
                # Info-ZIP convention (zip -y / unzip): S_IFLNK mode, the target as the content
                info.external_attr = (stat.S_IFLNK | mode) << 16
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, os.readlink(full).encode("utf-8"))
            else:
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                _set_compresslevel(info, level)
                info.file_size = st.st_size  # decides zip64 up front, so the header never changes
                with open(full, "rb") as handle, archive.open(info, mode="w") as target:
                    shutil.copyfileobj(handle, target, CHUNK)


def _set_compresslevel(info: zipfile.ZipInfo, level: int) -> None:
    try:
        info.compress_level = level  # Python >= 3.13
    except AttributeError:
        info._compresslevel = level  # Python < 3.13


def archive_name(name: str, version: str, fmt: str) -> str:
    return f"{name}-{version}.{fmt}"


def pack(
    root: str,
    files,
    dest: str,
    fmt: str,
    mtime: int,
    prefix: str = "",
    compresslevel: int = DEFAULT_COMPRESSLEVEL,
    check_mode: bool = False,
) -> dict:
    """Write a reproducible ``fmt`` archive of ``files`` (paths relative to ``root``) to ``dest``.

    The archive is built into a temporary file beside ``dest`` while its sha256 is computed; an
    existing identical ``dest`` is left alone (``changed=False``), otherwise the new file replaces
    it atomically. In check mode the archive is only digested, nothing is written.
    Returns path, name, format, sha256, size, changed and file_count.
    """
    if fmt not in FORMATS:
        raise ArchiveError(f"unknown archive format '{shown(fmt)}': use one of {', '.join(FORMATS)}")
    if isinstance(mtime, bool) or not isinstance(mtime, int) or not 0 <= mtime <= MAX_MTIME:
        raise ArchiveError(f"mtime must be a whole number of seconds since 1970 (0..{MAX_MTIME}), got {mtime!r}")
    if isinstance(compresslevel, bool) or not isinstance(compresslevel, int) or not 0 <= compresslevel <= 9:
        raise ArchiveError(f"compression level must be between 0 and 9, got {compresslevel!r}")
    if not os.path.isdir(root):
        raise ArchiveError(f"cannot pack: '{root}' is not a directory")
    entries = _collect_entries(root, files, prefix)
    writer = _write_tar if fmt == "tar.gz" else _write_zip
    dest = os.path.abspath(dest)
    result = {
        "path": dest,
        "name": os.path.basename(dest),
        "format": fmt,
        "file_count": sum(1 for entry in entries if entry[1] != "dir"),
    }
    if check_mode:
        sink = _DigestSink()
        _build(writer, entries, sink, mtime, compresslevel)
        result.update(sha256=sink.hexdigest(), size=sink.size)
        result["changed"] = not _same_file(dest, sink.hexdigest(), sink.size)
        return result

    with atomic_output(dest, default_mode()) as out:
        sink = _DigestSink(out.file)
        _build(writer, entries, sink, mtime, compresslevel, dest)
        result.update(sha256=sink.hexdigest(), size=sink.size)
        result["changed"] = not _same_file(dest, sink.hexdigest(), sink.size)
        if not result["changed"]:
            out.discard()
    return result


def _build(writer, entries, sink, mtime: int, level: int, dest: str | None = None) -> None:
    try:
        writer(entries, sink, mtime, level)
    except ArchiveError:
        raise
    except tarfile.TarError as exc:
        raise ArchiveError(f"could not write the archive: {exc}") from exc
    except OSError as exc:
        if exc.strerror and exc.filename:  # reading one of the files to pack
            raise ArchiveError(f"could not read {exc.filename} to pack it: {exc.strerror}") from exc
        if exc.strerror:  # writing the archive itself (a full disk, a quota)
            raise ArchiveError(f"could not write {dest or 'the archive'}: {exc.strerror}") from exc
        raise ArchiveError(f"could not write the archive: {exc} (was a file changed while packing?)") from exc


def _same_file(path: str, sha256: str, size: int) -> bool:
    if not os.path.isfile(path) or os.path.islink(path) or os.path.getsize(path) != size:
        return False
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest() == sha256


# ---------------------------------------------------------------------------------------------
# Safe unpacking
# ---------------------------------------------------------------------------------------------


def detect_format(path: str) -> str:
    """'zip' or a tar format from the first bytes of the file."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if head[:3] == b"BZh":
        return "tar.bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "tar.xz"
    if len(head) == 512 and head[257:262] == b"ustar":
        return "tar"
    raise ArchiveError(f"'{path}' is not a tar or zip archive (unknown format)", archive=path)


class _Plan:
    """What has been accepted so far: names and kinds, counts and sizes, checked before any write."""

    def __init__(self, archive: str, max_total_size: int, max_files: int):
        self.archive = archive
        self.max_total_size = max_total_size
        self.max_files = max_files
        self.kinds: dict[str, str] = {}
        self.count = 0
        self.total = 0
        self.stripped: list[str] = []
        self.symlinks: list[tuple[str, str]] = []
        self.dir_modes: dict[str, tuple[int, int]] = {}
        self.mtimes: list[tuple[str, int]] = []

    def refuse(self, member, reason: str):
        raise ArchiveError(
            f"refusing archive '{os.path.basename(self.archive)}': member '{shown(member)}' {reason}; "
            "nothing was extracted",
            member=shown(member),
            archive=self.archive,
        )

    def name(self, raw) -> str | None:
        """The normalised relative name of a member, None for the archive root ('./')."""
        if not isinstance(raw, str) or "\x00" in raw:
            self.refuse(raw, "has an unusable name")
        if "\\" in raw:
            self.refuse(raw, "contains a backslash (not a portable path separator)")
        if raw.startswith("/") or _DRIVE.match(raw):
            self.refuse(raw, "has an absolute path")
        parts = [p for p in raw.split("/") if p not in ("", ".")]
        if ".." in parts:
            self.refuse(raw, "has a '..' component")
        return "/".join(parts) if parts else None

    def link_target(self, raw, linkname) -> str | None:
        """The normalised member a hard link refers to; refused when it could name anything outside."""
        text = linkname if isinstance(linkname, str) else ""
        parts = [p for p in text.split("/") if p not in ("", ".")]
        if not text or "\x00" in text or "\\" in text or text.startswith("/") or _DRIVE.match(text) or ".." in parts:
            self.refuse(raw, f"is a hard link to '{shown(linkname)}', outside the target directory")
        return "/".join(parts) or None

    def accept(self, raw, name: str, kind: str, size: int = 0) -> None:
        self.count += 1
        if self.count > self.max_files:
            self.refuse(raw, f"exceeds the limit of {self.max_files} entries (file-count bomb?)")
        held = self.kinds.get(name)
        if held == "parent" and kind != "dir":
            self.refuse(raw, f"is a {kind} where the archive already has a directory")
        if held is not None and held != "parent":
            self.refuse(raw, "is a duplicate entry")
        parts = name.split("/")
        for index in range(1, len(parts)):
            parent = "/".join(parts[:index])
            held = self.kinds.get(parent)
            if held == "symlink":
                self.refuse(raw, f"would be written through the symlink '{shown(parent)}'")
            if held in ("file", "hardlink"):
                self.refuse(raw, f"would be written below the file '{shown(parent)}'")
            if held is None:
                self.kinds[parent] = "parent"
        self.total += size
        if self.total > self.max_total_size:
            self.refuse(raw, f"exceeds the limit of {self.max_total_size} bytes in total (archive bomb?)")
        self.kinds[name] = kind

    def mode(self, name: str, mode: int, kind: str) -> int:
        """As tarfile's ``data`` filter: no setuid/setgid/sticky, no group/other write (no local user may
        rewrite deployed code), execute bits only where the owner has one; the owner can always read,
        update and remove."""
        kept = mode & 0o755
        if kind == "file" and not kept & 0o100:
            kept &= ~0o111
        if mode & 0o7777 & ~kept:
            self.stripped.append(name)
        return kept | (0o700 if kind == "dir" else 0o600)


def _open_new(path: str) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o600)


def _copy_limited(source, path: str, plan: _Plan, raw, declared: int) -> int:
    written = 0
    fd = _open_new(path)
    with os.fdopen(fd, "wb") as target:
        while True:
            block = source.read(CHUNK)
            if not block:
                break
            written += len(block)
            if written > declared:
                plan.refuse(raw, "holds more data than its header declares")
            target.write(block)
    if written != declared:
        raise damaged(plan.archive, f"member '{shown(raw)}' holds less data than its header declares")
    return written


def _local(tmp: str, name: str) -> str:
    return os.path.join(tmp, *name.split("/"))


def _make_parent(tmp: str, name: str) -> None:
    parent = os.path.dirname(_local(tmp, name))
    if parent != tmp:
        os.makedirs(parent, mode=0o700, exist_ok=True)


class _TarStream:
    """The uncompressed tar stream of an archive file, read once from start to end.

    Compressed streams are read with gzip/bz2/lzma, which check the end-of-stream marker and the
    checksums (gzip CRC-32 and size, bzip2 block CRCs, xz check) and fail on a cut. The last bytes
    handed to tarfile are kept so that what follows the last member can be checked afterwards.
    """

    def __init__(self, path: str, handle, remedy: str):
        self.path = path
        self.remedy = remedy
        head = handle.read(6)
        handle.seek(0)
        if head[:2] == b"\x1f\x8b":
            self.compression = "gzip"
            self._raw = gzip.GzipFile(fileobj=handle, mode="rb")
        elif head[:3] == b"BZh":
            self.compression = "bzip2"
            self._raw = bz2.BZ2File(handle)
        elif head[:6] == b"\xfd7zXZ\x00":
            self.compression = "xz"
            self._raw = lzma.LZMAFile(handle)  # noqa: SIM115 - closed by close()
        else:
            self.compression = None
            self._raw = handle
        self.position = 0
        self.tail = b""

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read(size)
        except EOFError as exc:
            raise damaged(self.path, f"the {self.compression} stream ends before its end marker", self.remedy) from exc
        except (zlib.error, lzma.LZMAError) as exc:
            raise damaged(self.path, f"the {self.compression} stream is corrupt: {exc}", self.remedy) from exc
        except OSError as exc:
            if exc.errno is not None:
                raise  # reading the file itself failed
            raise damaged(self.path, f"the {self.compression} stream is corrupt: {exc}", self.remedy) from exc
        self.position += len(data)
        self.tail = (self.tail + data)[-_TAR_TAIL:]
        return data

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()


def _open_tar(stream: _TarStream):
    try:
        return tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFSIZE)
    except tarfile.ReadError as exc:
        if stream.position < tarfile.BLOCKSIZE:
            raise damaged(stream.path, "the tar data ends inside the first member header", stream.remedy) from exc
        raise ArchiveError(
            f"'{os.path.basename(stream.path)}' is not a readable tar archive: {exc}", archive=stream.path
        ) from exc
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise damaged(stream.path, str(exc), stream.remedy) from exc


def _check_tar_end(archive: tarfile.TarFile, stream: _TarStream) -> None:
    """tarfile stops quietly at a cut or garbled header: demand the end-of-archive marker and only
    zero padding after it, read to the end of the file (which also checks the compressed stream)."""
    end = archive.offset  # where tarfile read the header that ended the archive
    behind = stream.position - end
    if behind < 0:
        raise damaged(stream.path, f"the last member ends after the {stream.position} bytes of tar data", stream.remedy)
    if behind > len(stream.tail):
        raise damaged(stream.path, f"cannot locate the end of the tar data at byte {end}", stream.remedy)
    rest = stream.tail[len(stream.tail) - behind :] if behind else b""
    while len(rest) < len(_END_OF_ARCHIVE):
        more = stream.read(_TAR_BUFSIZE)
        if not more:
            break
        rest += more
    marker, rest = rest[: len(_END_OF_ARCHIVE)], rest[len(_END_OF_ARCHIVE) :]
    if marker != _END_OF_ARCHIVE:
        header = marker[: tarfile.BLOCKSIZE]
        if not header:
            detail = f"the tar data ends at byte {end} without the end-of-archive marker (two zero blocks)"
        elif header.count(0) != len(header):
            if len(header) < tarfile.BLOCKSIZE:
                detail = f"the tar data ends inside the member header at byte {end}"
            else:
                detail = f"the member header at byte {end} is unreadable (bad checksum)"
        elif len(marker) < len(_END_OF_ARCHIVE):
            detail = f"the tar data ends inside the end-of-archive marker at byte {end}"
        else:
            detail = f"a lone zero block at byte {end} is followed by more data"
        raise damaged(stream.path, detail, stream.remedy)
    padding = len(rest)
    while True:
        if rest.count(0) != len(rest):
            raise damaged(stream.path, "there is data after the end-of-archive marker", stream.remedy)
        if padding > _MAX_TAR_PADDING:
            raise damaged(stream.path, "there are too many zero bytes after the end-of-archive marker", stream.remedy)
        rest = stream.read(_TAR_BUFSIZE)
        if not rest:
            return
        padding += len(rest)


def _unpack_tar(path: str, tmp: str, plan: _Plan) -> None:
    with open(path, "rb") as handle:
        stream = _TarStream(path, handle, UNPACK_REMEDY)
        try:
            archive = _open_tar(stream)
            with archive:
                for member in archive:
                    _extract_tar_member(archive, member, tmp, plan)
                _check_tar_end(archive, stream)
        finally:
            stream.close()


def _extract_tar_member(archive: tarfile.TarFile, member: tarfile.TarInfo, tmp: str, plan: _Plan) -> None:
    raw = member.name
    name = plan.name(raw)
    if name is None:
        if not member.isdir():
            plan.refuse(raw, "names the archive root but is not a directory")
        return
    if member.isreg():
        plan.accept(raw, name, "file", member.size)
        _make_parent(tmp, name)
        source = archive.extractfile(member)
        _copy_limited(source, _local(tmp, name), plan, raw, member.size)
        os.chmod(_local(tmp, name), plan.mode(name, member.mode, "file"))
        plan.mtimes.append((name, int(member.mtime)))
    elif member.isdir():
        plan.accept(raw, name, "dir")
        os.makedirs(_local(tmp, name), mode=0o700, exist_ok=True)
        plan.dir_modes[name] = (plan.mode(name, member.mode, "dir"), int(member.mtime))
    elif member.issym():
        _accept_symlink(plan, raw, name, member.linkname)
    elif member.islnk():
        target = plan.link_target(raw, member.linkname)
        if target is None or plan.kinds.get(target) not in ("file", "hardlink"):
            plan.refuse(raw, f"is a hard link to '{shown(member.linkname)}', which is not an earlier file")
        plan.accept(raw, name, "hardlink")
        _make_parent(tmp, name)
        os.link(_local(tmp, target), _local(tmp, name), follow_symlinks=False)
    elif member.ischr() or member.isblk():
        plan.refuse(raw, "is a device file")
    elif member.isfifo():
        plan.refuse(raw, "is a fifo")
    else:
        plan.refuse(raw, f"has an unsupported type {member.type!r}")


def _accept_symlink(plan: _Plan, raw, name: str, target) -> None:
    if not isinstance(target, str) or "\x00" in target or len(target) > _MAX_SYMLINK_TARGET:
        plan.refuse(raw, "is a symlink with an unusable target")
    if link_escapes(name, target):
        plan.refuse(raw, f"is a symlink to '{shown(target)}', outside the target directory")
    plan.accept(raw, name, "symlink")
    plan.symlinks.append((name, target))


def _zip_kind(info: zipfile.ZipInfo) -> tuple[str, int]:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    kind_bits = stat.S_IFMT(mode)
    if info.filename.endswith("/") or stat.S_ISDIR(mode) or (kind_bits == 0 and info.external_attr & 0x10):
        return "dir", (mode & 0o7777) or 0o755
    if stat.S_ISLNK(mode):
        return "symlink", 0o777
    if kind_bits in (0, stat.S_IFREG):
        return "file", (mode & 0o7777) or 0o644
    return _special_kind(mode), 0


def _open_zip(path: str, remedy: str) -> zipfile.ZipFile:
    """A zip whose central directory was found at the end of the file and matches the file's start.

    A cut zip loses its end record; one cut just behind a zip stored inside it would otherwise be
    read as that inner zip, shifted: the first local header must be at byte 0.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error) as exc:
        raise damaged(path, f"no valid zip central directory at its end ({exc})", remedy) from exc
    except OSError as exc:
        if exc.errno is not None:
            raise
        raise damaged(path, f"no valid zip central directory at its end ({exc})", remedy) from exc
    infos = archive.infolist()
    if infos and min(info.header_offset for info in infos) != 0:
        archive.close()
        raise damaged(path, "its central directory does not describe the start of the file", remedy)
    return archive


def _unpack_zip(path: str, tmp: str, plan: _Plan) -> None:
    archive = _open_zip(path, UNPACK_REMEDY)
    with archive:
        infos = archive.infolist()
        if len(infos) > plan.max_files:
            plan.refuse(
                infos[plan.max_files].orig_filename, f"exceeds the limit of {plan.max_files} entries (file-count bomb?)"
            )
        declared = 0
        for info in infos:
            declared += info.file_size
            if declared > plan.max_total_size:
                plan.refuse(
                    info.orig_filename, f"exceeds the limit of {plan.max_total_size} bytes in total (archive bomb?)"
                )
        for info in infos:
            raw = info.orig_filename
            name = plan.name(raw)
            kind, mode = _zip_kind(info)
            if name is None:
                if kind != "dir":
                    plan.refuse(raw, "names the archive root but is not a directory")
                continue
            if info.flag_bits & 0x1:
                plan.refuse(raw, "is encrypted")
            mtime = _zip_mtime(info)
            if kind == "file":
                plan.accept(raw, name, "file", info.file_size)
                _make_parent(tmp, name)
                with archive.open(info) as source:
                    _copy_limited(source, _local(tmp, name), plan, raw, info.file_size)
                os.chmod(_local(tmp, name), plan.mode(name, mode, "file"))
                plan.mtimes.append((name, mtime))
            elif kind == "dir":
                plan.accept(raw, name, "dir")
                os.makedirs(_local(tmp, name), mode=0o700, exist_ok=True)
                plan.dir_modes[name] = (plan.mode(name, mode, "dir"), mtime)
            elif kind == "symlink":
                if info.file_size > _MAX_SYMLINK_TARGET:
                    plan.refuse(raw, "is a symlink with an unusable target")
                with archive.open(info) as source:
                    target = source.read(_MAX_SYMLINK_TARGET + 1).decode("utf-8", "replace")
                _accept_symlink(plan, raw, name, target)
            else:
                plan.refuse(raw, f"is a {kind}")


def _zip_mtime(info: zipfile.ZipInfo) -> int:
    try:
        return calendar.timegm((*info.date_time, 0, 0, 0))
    except (OverflowError, ValueError):
        return ZIP_EPOCH


def check_complete(path: str, remedy: str) -> str:
    """Read a whole tar or zip without extracting it; ``damaged`` (with ``remedy``) when it was cut
    short or corrupted, as ``safe_unpack`` would find. Returns the format."""
    fmt = detect_format(path)
    try:
        if fmt == "zip":
            with _open_zip(path, remedy) as archive:
                for info in archive.infolist():
                    if info.flag_bits & 0x1 or info.is_dir():
                        continue  # an encrypted member cannot be checked without its password
                    with archive.open(info) as member:
                        while member.read(CHUNK):  # the CRC-32 is checked at the member's end
                            pass
        else:
            with open(path, "rb") as handle:
                stream = _TarStream(path, handle, remedy)
                try:
                    with _open_tar(stream) as archive:
                        for _member in archive:
                            pass  # tarfile reads past each member's data to the next header
                        _check_tar_end(archive, stream)
                finally:
                    stream.close()
    except NotImplementedError as exc:
        raise ArchiveError(f"cannot check '{os.path.basename(path)}': {shown(str(exc))}", archive=path) from exc
    except _DAMAGE as exc:
        raise damaged(path, str(exc) or type(exc).__name__, remedy) from exc
    except OSError as exc:
        if exc.errno is not None:
            raise ArchiveError(f"cannot read '{path}': {shown(exc.strerror or str(exc))}", archive=path) from exc
        raise damaged(path, str(exc), remedy) from exc
    return fmt


def _finish(tmp: str, plan: _Plan) -> None:
    """Create the symlinks last (nothing is ever written through them), check where they lead, set times and modes."""
    real_tmp = os.path.realpath(tmp)
    for name, target in plan.symlinks:
        _make_parent(tmp, name)
        os.symlink(target, _local(tmp, name))
    for name, target in plan.symlinks:
        if not _within(os.path.realpath(_local(tmp, name)), real_tmp):
            plan.refuse(name, f"is a symlink to '{shown(target)}' that leads outside the target through other links")
    for name, mtime in plan.mtimes:
        os.utime(_local(tmp, name), (mtime, mtime), follow_symlinks=False)
    for name in sorted(plan.dir_modes, key=lambda n: n.count("/"), reverse=True):
        mode, mtime = plan.dir_modes[name]
        os.chmod(_local(tmp, name), mode)
        os.utime(_local(tmp, name), (mtime, mtime), follow_symlinks=False)
    os.chmod(tmp, 0o755 & ~current_umask())


def _limit(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ArchiveError(f"{what} must be a non-negative whole number, got {value!r}")
    return value


def safe_unpack(
    archive_path: str,
    dest_dir: str,
    max_total_size: int = DEFAULT_MAX_TOTAL_SIZE,
    max_files: int = DEFAULT_MAX_FILES,
    fmt: str | None = None,
    replace: bool = False,
) -> dict:
    """Extract ``archive_path`` into ``dest_dir``; all or nothing.

    ``dest_dir`` must not exist, or be an empty directory (or any directory with ``replace=True``,
    which is then swapped for the new tree). Raises ArchiveError, naming the refused member, and
    leaves neither ``dest_dir`` changes nor temporary files behind.
    Returns dest, format, files, directories, symlinks, hardlinks, total_size, modes_stripped.
    """
    max_total_size = _limit(max_total_size, "max_total_size")
    max_files = _limit(max_files, "max_files")
    if not os.path.isfile(archive_path):
        raise ArchiveError(f"archive '{archive_path}' does not exist or is not a file", archive=archive_path)
    if fmt is not None and fmt not in UNPACK_FORMATS:
        raise ArchiveError(f"unknown archive format '{shown(fmt)}': use one of {', '.join(UNPACK_FORMATS)}")
    fmt = fmt or detect_format(archive_path)
    dest = os.path.abspath(dest_dir)
    if os.path.islink(dest) or (os.path.lexists(dest) and not os.path.isdir(dest)):
        raise ArchiveError(f"cannot unpack into '{dest}': it exists and is not a directory", archive=archive_path)
    if os.path.isdir(dest) and os.listdir(dest) and not replace:
        raise ArchiveError(f"cannot unpack into '{dest}': the directory is not empty", archive=archive_path)
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.unpack-", dir=parent)
    plan = _Plan(archive_path, max_total_size, max_files)
    try:
        try:
            if fmt == "zip":
                _unpack_zip(archive_path, tmp, plan)
            else:
                _unpack_tar(archive_path, tmp, plan)
        except NotImplementedError as exc:
            raise ArchiveError(
                f"'{os.path.basename(archive_path)}' uses an unsupported feature: {shown(str(exc))}; "
                "nothing was extracted",
                archive=archive_path,
            ) from exc
        except _DAMAGE as exc:
            raise damaged(archive_path, str(exc) or type(exc).__name__) from exc
        except OSError as exc:
            if exc.errno is None:  # a decompressor's complaint (bz2, gzip), not the file system's
                raise damaged(archive_path, str(exc)) from exc
            where = f" ({exc.filename})" if exc.filename else ""
            raise ArchiveError(
                f"could not unpack '{os.path.basename(archive_path)}' into {dest}: "
                f"{shown(exc.strerror or str(exc))}{where}; "
                "nothing was extracted",
                archive=archive_path,
            ) from exc
        _finish(tmp, plan)
        _install(tmp, dest, replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    kinds = list(plan.kinds.values())
    return {
        "dest": dest,
        "format": fmt,
        "files": kinds.count("file"),
        "directories": kinds.count("dir") + kinds.count("parent"),
        "symlinks": kinds.count("symlink"),
        "hardlinks": kinds.count("hardlink"),
        "total_size": plan.total,
        "modes_stripped": sorted(plan.stripped),
    }


def _install(tmp: str, dest: str, replace: bool) -> None:
    if not os.path.lexists(dest):
        os.rename(tmp, dest)
        return
    try:
        os.rename(tmp, dest)  # replaces an empty directory
        return
    except OSError:
        if not replace:
            raise ArchiveError(f"cannot unpack into '{dest}': the directory is not empty") from None
    aside = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.old-", dir=os.path.dirname(dest))
    os.rmdir(aside)
    os.rename(dest, aside)
    try:
        os.rename(tmp, dest)
    except BaseException:
        os.rename(aside, dest)
        raise
    shutil.rmtree(aside, ignore_errors=True)
