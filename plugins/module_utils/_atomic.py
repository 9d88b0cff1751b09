"""Whole-file writes for the whole collection: a reader sees the old content or the new, never a part.

Every file the collection writes in place goes through :func:`atomic_output` (or the small wrappers
below it), so the rules hold everywhere:

- the temporary file is made with ``mkstemp`` in the target's own folder (``O_CREAT | O_EXCL``, and
  ``O_NOFOLLOW`` where the platform has it; mode 0600 while it is written), so nobody who can write to
  that folder can plant a file or a symlink under the name it will use;
- its mode (and owner, when asked) is set on the open descriptor, never through a path;
- it is flushed and fsynced, then renamed over the target: ``rename`` replaces a symlink at the target
  itself and never writes through it;
- the folder is fsynced after the rename, so the new name survives a crash;
- on any error, or when the caller discards it, the temporary file is removed;
- ``exclusive=True`` links it to the target instead (``link`` fails when the name exists), so of two
  writers racing for a new name exactly one wins and the other gets ``FileExistsError``.

Temporary names start with ``.<name>.`` and end with ``.tmp``: :func:`is_temporary` recognises them
for the clean-up of what a killed process left behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import tempfile

CHUNK = 1024 * 1024
TEMP_SUFFIX = ".tmp"
LINK_TEMP_MARK = ".tmp-"  # <link>.tmp-<random>: what a switch killed between its two steps leaves


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode() -> int:
    """0644 narrowed by the process umask: the mode a new, non-executable file gets."""
    return 0o644 & ~current_umask()


def existing_mode(path: str, default: int | None = None) -> int:
    """The permission bits of the file at ``path``, or ``default`` (else :func:`default_mode`) if none."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return default_mode() if default is None else default


def fsync_dir(directory: str) -> None:
    """Make a rename in ``directory`` durable (best effort: some file systems refuse a folder fsync)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class AtomicOutput:
    """The temporary file behind :func:`atomic_output`: ``file`` to write to, ``temp_path`` to check it."""

    def __init__(
        self, path: str, mode: int | None, owner: tuple[int, int] | None, prefix: str | None, exclusive: bool = False
    ):
        self.path = path
        self.exclusive = exclusive
        self.mode = mode
        self.owner = owner
        self.directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(self.directory, exist_ok=True)
        name = prefix if prefix is not None else f".{os.path.basename(path)}."
        fd, self.temp_path = tempfile.mkstemp(prefix=name, suffix=TEMP_SUFFIX, dir=self.directory)
        self.file = os.fdopen(fd, "wb")
        self.discarded = False

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def discard(self) -> None:
        """Keep the target as it is: the temporary file is removed at the end of the block."""
        self.discarded = True

    def _commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        if self.owner is not None:
            os.fchown(self.file.fileno(), *self.owner)
        os.fchmod(self.file.fileno(), default_mode() if self.mode is None else self.mode)
        self.file.close()
        if self.exclusive:
            try:
                os.link(self.temp_path, self.path)  # FileExistsError when another writer got there first
            except OSError as exc:
                # a file system without hard links (some network and FAT mounts): the caller's lock decides
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    raise
                if os.path.lexists(self.path):
                    raise FileExistsError(errno.EEXIST, "File exists", self.path) from None
                os.replace(self.temp_path, self.path)
            else:
                os.unlink(self.temp_path)
        else:
            os.replace(self.temp_path, self.path)
        fsync_dir(self.directory)

    def _abandon(self) -> None:
        self.file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp_path)


@contextlib.contextmanager
def atomic_output(
    path: str,
    mode: int | None = None,
    owner: tuple[int, int] | None = None,
    prefix: str | None = None,
    exclusive: bool = False,
):
    """Write ``path`` whole: yields an :class:`AtomicOutput`; a clean exit renames it into place.

    ``mode`` defaults to :func:`default_mode`; ``owner`` is an optional ``(uid, gid)``. Call
    ``discard()`` inside the block to leave the target untouched. With ``exclusive`` an existing
    ``path`` is never replaced: the block ends in ``FileExistsError`` and the target is untouched.
    """
    try:
        out = AtomicOutput(path, mode, owner, prefix, exclusive)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        yield out
        if out.discarded:
            out._abandon()
        else:
            out._commit()
    except OSError as exc:
        out._abandon()
        raise _naming(exc, path) from None
    except BaseException:
        out._abandon()
        raise


def _naming(exc: OSError, path: str) -> OSError:
    """``exc`` with ``path`` as its file name when it had none (a full disk names no file)."""
    if getattr(exc, "filename", None) is None:
        exc.filename = path
    return exc


def atomic_write_bytes(path: str, data: bytes, mode: int | None = None) -> None:
    with atomic_output(path, mode) as out:
        out.write(data)


def atomic_write_text(path: str, text: str, mode: int | None = None) -> None:
    """Write ``text`` as UTF-8, byte for byte (no newline translation)."""
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_write_json(path: str, value, mode: int | None = None) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n", mode)


def atomic_copy(source: str, dest: str, mode: int | None = None) -> None:
    """Copy ``source`` over ``dest`` whole, streaming."""
    with atomic_output(dest, mode) as out, open(source, "rb") as handle:
        shutil.copyfileobj(handle, out.file, CHUNK)


def write_if_changed(path: str, data: bytes, check_mode: bool = False, mode: int | None = None) -> bool:
    """Write ``data`` unless ``path`` (a regular file, not a link) holds it already; True when it changed."""
    if not os.path.islink(path):
        try:
            with open(path, "rb") as handle:
                if handle.read() == data:
                    return False
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass
    if not check_mode:
        atomic_write_bytes(path, data, mode)
    return True


def atomic_symlink(target: str, link: str, before_replace=None) -> None:
    """Point ``link`` at ``target`` in one rename: a new symlink ``<link>.tmp-<random>`` first.

    ``symlink`` never follows an existing name, so the temporary name needs no secrecy; it is random so
    that concurrent switches and a leftover from a killed one never collide.

    ``before_replace`` (optional) is called between the two steps, for tests that stop a switch there.
    """
    directory = os.path.dirname(os.path.abspath(link))
    for _attempt in range(100):
        temp = os.path.join(directory, f"{os.path.basename(link)}{LINK_TEMP_MARK}{secrets.token_hex(8)}")
        try:
            os.symlink(target, temp)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 64 random bits
        raise FileExistsError(f"could not create a temporary link beside {link}")
    try:
        if before_replace is not None:
            before_replace()
        os.replace(temp, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(directory)


def is_temporary(name: str, target: str | None = None) -> bool:
    """True for a temporary name this module makes (for ``target``'s base name, when given)."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return False
    return target is None or name.startswith(f".{os.path.basename(target)}.")
