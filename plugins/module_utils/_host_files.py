# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Directories and whole files on a host, in one pass: what a role's file/template/copy tasks do.

Every directory is created or has its mode and owner corrected; every file whose content, mode or
owner differs is written to a temporary file beside it, validated (an optional argv with ``%s``),
and renamed into place. ``changed`` and the diff come from one comparison of before and after,
so check mode reports exactly what a real run changes.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import tempfile

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_output
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._process import run_capture

_DIFF_LIMIT = 256 * 1024  # larger files are reported as changed without their text


def parse_mode(value, what: str) -> int | None:
    """An octal mode given as ``'0644'``, ``'644'`` or an int; None keeps the current mode."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    try:
        mode = int(str(value), 8)
    except ValueError:
        raise ConfigurationError(f"{what}: mode {value!r} is not an octal permission such as '0644'") from None
    if mode > 0o7777:
        raise ConfigurationError(f"{what}: mode {value!r} is out of range (at most 07777)")
    return mode


def _uid(owner, what: str) -> int:
    if owner is None or owner == "":
        return -1
    if str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(str(owner)).pw_uid
    except KeyError:
        raise ConfigurationError(f"{what}: user {owner!r} does not exist on this host") from None


def _gid(group, what: str) -> int:
    if group is None or group == "":
        return -1
    if str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(str(group)).gr_gid
    except KeyError:
        raise ConfigurationError(f"{what}: group {group!r} does not exist on this host") from None


def _attribute_changes(st: os.stat_result, mode: int | None, uid: int, gid: int) -> list[str]:
    changes = []
    if mode is not None and stat.S_IMODE(st.st_mode) != mode:
        changes.append("mode")
    if (uid != -1 and st.st_uid != uid) or (gid != -1 and st.st_gid != gid):
        changes.append("owner")
    return changes


def _apply_attributes(path: str, mode: int | None, uid: int, gid: int) -> None:
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid, follow_symlinks=False)
    if mode is not None:
        os.chmod(path, mode)


def ensure_directory(spec: dict, check_mode: bool) -> dict:
    path = spec["path"]
    what = f"directory {path}"
    mode, uid, gid = parse_mode(spec.get("mode"), what), _uid(spec.get("owner"), what), _gid(spec.get("group"), what)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not check_mode:
            os.makedirs(path, exist_ok=True)
            _apply_attributes(path, mode, uid, gid)
        return {"path": path, "changed": True, "changes": ["created"]}
    if not stat.S_ISDIR(st.st_mode):
        raise ConfigurationError(f"{path} exists and is not a directory: move it away or choose another path")
    changes = _attribute_changes(st, mode, uid, gid)
    if changes and not check_mode:
        _apply_attributes(path, mode, uid, gid)
    return {"path": path, "changed": bool(changes), "changes": changes}


def _validate(argv: list[str], candidate: str, path: str) -> None:
    if not any("%s" in arg for arg in argv):
        raise ConfigurationError(f"file {path}: validate must contain %s where the file to check goes")
    rc, out, err = run_capture([arg.replace("%s", candidate) for arg in argv])
    if rc != 0:
        lines = [line for line in (err + out).strip().splitlines() if line.strip()]
        errors = [line.strip() for line in lines if "error" in line.lower()]
        detail = (errors or lines or [f"exit code {rc}"])[-1 if not errors else 0]
        raise CommandError(
            f"file {path} failed validation by {argv[0]}: {detail}", validate_output=lines[-20:], path=path
        )


def _write_candidate(directory: str, data: bytes) -> str:
    fd, tmp = tempfile.mkstemp(prefix=".conveyor-", dir=directory)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return tmp


def ensure_file(spec: dict, check_mode: bool) -> tuple[dict, dict | None]:
    """Make ``spec['path']`` hold ``spec['content']``; return the file's result and its diff (or None)."""
    path = spec["path"]
    what = f"file {path}"
    data = spec["content"].encode("utf-8")
    mode, uid, gid = parse_mode(spec.get("mode"), what), _uid(spec.get("owner"), what), _gid(spec.get("group"), what)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ConfigurationError(f"{path} exists and is not a regular file: move it away or choose another path")
    before = b""
    if st is not None:
        with open(path, "rb") as handle:
            before = handle.read()
    content_changed = st is None or before != data
    changes = (["created"] if st is None else ["content"]) if content_changed else []
    if st is not None:
        changes += _attribute_changes(st, mode, uid, gid)
    diff = None
    if content_changed and max(len(before), len(data)) <= _DIFF_LIMIT:
        diff = {
            "before_header": path if st is not None else "/dev/null",
            "after_header": path,
            "before": before.decode("utf-8", "replace"),
            "after": spec["content"],
        }
    validate = spec.get("validate") or []
    if content_changed:
        if check_mode:
            if validate:  # the same check a real run makes, on a copy outside the destination
                scratch = tempfile.mkdtemp(prefix="conveyor-validate-")
                try:
                    _validate(validate, _write_candidate(scratch, data), path)
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
        else:
            keep = stat.S_IMODE(st.st_mode) if st is not None else 0o644
            owner = (uid, gid) if uid != -1 or gid != -1 else None
            with atomic_output(path, mode if mode is not None else keep, owner=owner) as out:
                out.write(data)
                if validate:
                    out.file.flush()
                    _validate(validate, out.temp_path, path)
    elif changes and not check_mode:
        _apply_attributes(path, mode, uid, gid)
    return {"path": path, "changed": bool(changes), "changes": changes}, diff


def apply_files(directories: list[dict], files: list[dict], *, check_mode: bool, want_diff: bool) -> dict:
    """Directories first (in order), then files; the result lists what changed."""
    directories, files = _unique(directories), _unique(files)
    kinds = {}
    for kind, spec in [("directory", d) for d in directories] + [("file", f) for f in files]:
        if spec["path"] in kinds:
            raise ConfigurationError(f"{spec['path']} is listed twice with different settings: give each path once")
        kinds[spec["path"]] = kind
    dir_results = [ensure_directory(spec, check_mode) for spec in directories]
    file_results, diffs = [], []
    for spec in files:
        result, diff = ensure_file(spec, check_mode)
        file_results.append(result)
        if diff is not None:
            diffs.append(diff)
    changed_paths = [r["path"] for r in dir_results + file_results if r["changed"]]
    result = {
        "changed": bool(changed_paths),
        "changed_paths": changed_paths,
        "directories": dir_results,
        "files": file_results,
    }
    if want_diff and diffs:
        result["diff"] = diffs
    return result


def _unique(specs: list[dict]) -> list[dict]:
    """``specs`` without repeats of an identical entry (a parent directory named by two options, say)."""
    out: list[dict] = []
    for spec in specs:
        if spec not in out:
            out.append(spec)
    return out


def find_tools(names: list[str], path: str | None = None) -> dict:
    """Where each tool is: a name with ``/`` must be an executable file, a bare name is looked up on PATH."""
    found = {}
    for name in names:
        if os.sep in name:
            found[name] = name if os.path.isfile(name) and os.access(name, os.X_OK) else None
        else:
            found[name] = shutil.which(name, path=path)
    return {"changed": False, "tools": found, "missing": [name for name in names if found[name] is None]}
