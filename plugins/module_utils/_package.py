# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The package engine: select files from a build tree, write reproducible archives, checksum
files and the release manifest; read and validate release manifests.

File selection uses gitignore-like globs, matched against paths relative to ``src``:
a pattern without a ``/`` matches a name at any depth, a pattern with a ``/`` is anchored at
``src``, ``**`` crosses directories, a trailing ``/`` matches directories only, and a pattern
that matches a directory selects everything below it. Exclude wins over include.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._archive import (
    CHUNK,
    FORMATS,
    MAX_MTIME,
    ZIP_EPOCH,
    archive_name,
    check_complete,
    pack,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_output, write_if_changed
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._git import Git
from ansible_collections.conveyor.cicd.plugins.module_utils._process import run_capture

MANIFEST_SCHEMA = 1
ARTIFACT_FORMATS = ("tar.gz", "zip", "wheel", "sdist")
DEFAULT_SOURCE_DATE_EPOCH = ZIP_EPOCH
MAX_MANIFEST_SIZE = 16 * 1024 * 1024
ALWAYS_SKIPPED = (".git",)  # version control data is never part of an artifact
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
_SHA256 = re.compile(r"^[0-9a-f]{64}\Z")


class ManifestError(ConveyorError):
    """A release manifest is missing, unreadable or does not follow the schema."""


# ---------------------------------------------------------------------------------------------
# gitignore-like globs
# ---------------------------------------------------------------------------------------------


class PathPattern:
    """One compiled glob; ``matches(rel, is_dir)`` for a path relative to the tree root."""

    def __init__(self, pattern):
        if not isinstance(pattern, str) or not pattern.strip():
            raise ConfigurationError(f"glob patterns must be non-empty strings, got {pattern!r}")
        self.pattern = pattern
        if pattern.startswith("!"):
            raise ConfigurationError(
                f"glob '{pattern}': negation with '!' is not supported; list what to keep in include instead"
            )
        self.dir_only = pattern.endswith("/")
        core = pattern.strip("/")
        # as in gitignore: a slash at the start or in the middle anchors the pattern at the root
        anchored = pattern.startswith("/") or "/" in core
        segments = [s for s in core.split("/") if s not in ("", ".")]
        if not segments:
            raise ConfigurationError(f"glob '{pattern}' matches nothing: give a file or directory pattern")
        if ".." in segments:
            raise ConfigurationError(f"glob '{pattern}' must not contain '..': patterns are relative to src")
        parts = ["" if anchored else "(?:[^/]+/)*"]
        for index, segment in enumerate(segments):
            last = index == len(segments) - 1
            if segment == "**":
                parts.append(".+" if last else "(?:[^/]+/)*")
            else:
                parts.append(_segment_regex(segment, pattern) + ("" if last else "/"))
        try:
            self.regex = re.compile("".join(parts), re.DOTALL)
        except re.error as exc:
            raise ConfigurationError(f"glob '{pattern}' is not valid: {exc}") from exc

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.dir_only and not is_dir:
            return False
        return self.regex.fullmatch(rel) is not None


def _segment_regex(segment: str, pattern: str) -> str:
    out = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1  # "a**b" means the same as "a*b", as in gitignore
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = i + 1
            if end < len(segment) and segment[end] in "!^":
                end += 1
            if end < len(segment) and segment[end] == "]":
                end += 1
            while end < len(segment) and segment[end] != "]":
                end += 1
            if end >= len(segment):
                raise ConfigurationError(f"glob '{pattern}' has an unclosed '[': close it or escape it as '\\['")
            body = segment[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = (body[1:] if negate else body).replace("\\", "\\\\").replace("[", "\\[")
            out.append(("(?!/)[^" if negate else "[") + body + "]")
            i = end
        elif char == "\\":
            if i + 1 >= len(segment):
                raise ConfigurationError(f"glob '{pattern}' ends with a lone '\\': remove it or escape a character")
            i += 1
            out.append(re.escape(segment[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def compile_patterns(patterns, what: str) -> list[PathPattern]:
    if patterns is None:
        return []
    if isinstance(patterns, str) or not isinstance(patterns, (list, tuple)):
        raise ConfigurationError(f"{what} must be a list of glob patterns, got {type(patterns).__name__}")
    return [PathPattern(p) for p in patterns]


def select_files(src: str, include=None, exclude=None, skip=(), tracked=None) -> list[str]:
    """Sorted relative paths (files, symlinks and special files) below ``src`` that are selected.

    ``include`` None or empty selects everything. Directories matched by ``exclude``, ``.git``
    directories and the absolute paths in ``skip`` are not entered at all. Symlinks to directories
    are entries, never followed. ``tracked`` (a collection of relative paths, see ``git_tracked``)
    limits the candidates to those paths and to everything below a tracked directory (a submodule).
    Each include pattern must select at least one file: a pattern that selects nothing means the
    package would silently miss what it names.
    """
    includes = compile_patterns(include, "include")
    excludes = compile_patterns(exclude, "exclude")
    skip = {os.path.realpath(p) for p in skip}
    selected: list[str] = []
    used: set[int] = set()
    tracked_dirs: set[str] = set()
    if tracked is not None:
        tracked = set(tracked)
        for path in tracked:
            parts = path.split("/")
            tracked_dirs.update("/".join(parts[:end]) for end in range(1, len(parts)))

    def walk(directory: str, rel_dir: str, included: tuple[int, ...], whole: bool) -> None:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir and (entry.name in ALWAYS_SKIPPED or os.path.realpath(entry.path) in skip):
                continue
            inside = whole or tracked is None or rel in tracked
            if not inside and not (is_dir and rel in tracked_dirs):
                continue
            if any(p.matches(rel, is_dir) for p in excludes):
                continue
            here = included or tuple(i for i, p in enumerate(includes) if p.matches(rel, is_dir))
            if is_dir:
                walk(entry.path, rel, here, inside)
            elif here or not includes:
                selected.append(rel)
                if isinstance(here, tuple):
                    used.update(here)

    walk(src, "", (), tracked is None)
    for index, pattern in enumerate(includes):
        if index not in used:
            raise ConfigurationError(
                f"include pattern '{pattern.pattern}' selects no file in '{src}': the package would miss what it"
                " names; fix the pattern to the application's layout or remove it"
            )
    return sorted(selected)


def git_tracked(path: str) -> list[str] | None:
    """The files git tracks below ``path``, relative to it; None when ``path`` is not in a git work tree."""
    try:
        rc, out, _err = run_capture(
            ["git", "-C", path, "ls-files", "-z", "--cached", "--", "."],
            env={"LC_ALL": "C", "GIT_PAGER": "cat"},
            timeout=120,
        )
    except (ConveyorError, UnicodeDecodeError):
        return None
    if rc != 0:
        return None
    return [entry for entry in out.split("\0") if entry]


# ---------------------------------------------------------------------------------------------
# git, SOURCE_DATE_EPOCH
# ---------------------------------------------------------------------------------------------


def git_info(path: str, required: bool = False) -> dict | None:
    """{"commit", "commit_time" (ISO 8601 UTC), "epoch"} of HEAD in the work tree holding ``path``."""
    try:
        rc, out, err = run_capture(
            ["git", "-C", path, "log", "-1", "--format=%H %ct"], env={"LC_ALL": "C", "GIT_PAGER": "cat"}, timeout=60
        )
    except ConveyorError:
        if required:
            raise
        return None
    fields = out.split()
    if rc != 0 or len(fields) != 2 or not fields[1].isdigit():
        if required:
            last = (err.strip().splitlines() or ["no commit found"])[-1]
            raise ConfigurationError(f"cannot read the HEAD commit of '{path}': {last}")
        return None
    epoch = int(fields[1])
    return {"commit": fields[0], "commit_time": iso_utc(epoch), "epoch": epoch}


def check_tag_format(release_tag) -> str:
    """``release_tag`` when it is a tag format with ``{version}`` exactly once; "" for none."""
    if release_tag is None or release_tag == "":
        return ""
    if not isinstance(release_tag, str) or release_tag.count("{version}") != 1:
        raise ConfigurationError(
            f"release_tag {release_tag!r} must contain '{{version}}' exactly once, e.g. v{{version}}, or be empty"
            " for no check"
        )
    return release_tag


def verify_release_tag(path: str, name: str, version: str, tag_format: str, git: dict) -> str:
    """The tag ``tag_format`` gives ``version`` when it names the HEAD commit in ``git``; else ConfigurationError."""
    tag = tag_format.replace("{version}", version)
    commit = Git(path).resolve(f"refs/tags/{tag}")
    if commit == git["commit"]:
        return tag
    why = "the commit a release tag names is the one built and tested"
    if commit is not None:
        why = f"{tag} is on commit {commit[:12]}; {why}"
    raise ConfigurationError(
        f"{name} {version} is not a release build: commit {git['commit'][:12]} is not tagged {tag} ({why}); publish"
        " it as a snapshot (snapshot: true, conveyor_snapshot: true in the pipeline), or run the pipeline on a"
        " checkout of the tag"
    )


def snapshot_version(version: str, git: dict | None) -> str:
    """The prerelease version of an unreleased commit: ``1.4.0-dev.g0123456789ab``, ``1.4.0-dev`` outside git."""
    return f"{version}-dev" + (f".g{git['commit'][:12]}" if git else "")


def iso_utc(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _epoch_value(value, what: str) -> int:
    if isinstance(value, bool):
        raise ConfigurationError(f"{what} must be a whole number of seconds since 1970, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigurationError(f"{what} must be a whole number of seconds since 1970, got {value!r}") from None
    if not 0 <= number <= MAX_MTIME:
        raise ConfigurationError(f"{what} must be between 0 and {MAX_MTIME}, got {number}")
    return number


def resolve_epoch(source_date_epoch, environ, git: dict | None) -> tuple[int, str]:
    """The timestamp for every archive entry, and where it came from."""
    if source_date_epoch is not None:
        return _epoch_value(source_date_epoch, "source_date_epoch"), "parameter"
    if environ.get("SOURCE_DATE_EPOCH", "").strip():
        return _epoch_value(environ["SOURCE_DATE_EPOCH"], "the SOURCE_DATE_EPOCH environment variable"), "environment"
    if git is not None:
        return git["epoch"], "git"
    return DEFAULT_SOURCE_DATE_EPOCH, "default"


# ---------------------------------------------------------------------------------------------
# The manifest
# ---------------------------------------------------------------------------------------------


def manifest_name(name: str, version: str) -> str:
    return f"{name}-{version}.manifest.json"


def render_manifest(manifest: dict) -> str:
    return json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def validate_manifest(data, where: str = "manifest") -> dict:
    """Return ``data`` when it follows schema 1, else raise ManifestError naming the first problem."""

    def bad(problem: str):
        raise ManifestError(f"{where} is not a valid release manifest: {problem}", manifest=where)

    if not isinstance(data, dict):
        bad("the top level must be a JSON object")
    if data.get("schema") != MANIFEST_SCHEMA:
        bad(f"'schema' must be {MANIFEST_SCHEMA}, got {data.get('schema')!r}")
    for key in ("name", "version"):
        if not isinstance(data.get(key), str) or not _NAME.match(data[key]):
            bad(f"'{key}' must be a non-empty name of letters, digits and ._+-, got {data.get(key)!r}")
    git = data.get("git", "missing")
    if git is not None:
        if not isinstance(git, dict) or not isinstance(git.get("commit"), str) or not git["commit"]:
            bad("'git' must be null or an object with 'commit' and 'commit_time'")
        if not isinstance(git.get("commit_time"), str):
            bad("'git.commit_time' must be an ISO 8601 string")
    epoch = data.get("source_date_epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        bad(f"'source_date_epoch' must be a non-negative integer, got {epoch!r}")
    artifacts = data.get("artifacts")
    if not isinstance(artifacts, list):
        bad("'artifacts' must be a list")
    seen = set()
    for index, item in enumerate(artifacts):
        if not isinstance(item, dict):
            bad(f"artifacts[{index}] must be an object")
        file_name = item.get("name")
        if not isinstance(file_name, str) or not file_name or "/" in file_name or file_name in (".", ".."):
            bad(f"artifacts[{index}].name must be a plain file name, got {file_name!r}")
        if file_name in seen:
            bad(f"artifact '{file_name}' is listed twice")
        seen.add(file_name)
        if item.get("format") not in ARTIFACT_FORMATS:
            bad(f"artifacts[{index}].format must be one of {', '.join(ARTIFACT_FORMATS)}, got {item.get('format')!r}")
        if not isinstance(item.get("sha256"), str) or not _SHA256.match(item["sha256"]):
            bad(f"artifacts[{index}].sha256 must be 64 lowercase hex digits")
        size = item.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            bad(f"artifacts[{index}].size must be a non-negative integer, got {size!r}")
    for key in ("build", "tests"):
        if not isinstance(data.get(key), dict):
            bad(f"'{key}' must be an object")
    return data


def load_manifest(path: str) -> dict:
    """Read and validate ``<name>-<version>.manifest.json``; raise ManifestError with one line otherwise."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_MANIFEST_SIZE + 1)
    except OSError as exc:
        raise ManifestError(f"cannot read release manifest '{path}': {exc.strerror or exc}", manifest=path) from exc
    if len(raw) > MAX_MANIFEST_SIZE:
        raise ManifestError(f"release manifest '{path}' is larger than {MAX_MANIFEST_SIZE} bytes", manifest=path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ManifestError(f"release manifest '{path}' is not valid JSON: {exc}", manifest=path) from exc
    return validate_manifest(data, f"'{path}'")


# ---------------------------------------------------------------------------------------------
# Writing outputs
# ---------------------------------------------------------------------------------------------


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def write_text(path: str, text: str, check_mode: bool) -> bool:
    """Atomically write ``text`` unless the file already holds it; True when it changed (or would)."""
    return write_if_changed(path, text.encode("utf-8"), check_mode)


def _sha256_of(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def copy_artifact(source: str, dest: str, check_mode: bool) -> dict:
    """Copy a pass-through artifact into the output directory unless an identical file is there."""
    sha, size = _sha256_of(source)
    same = os.path.realpath(source) == os.path.realpath(dest)
    if not same and os.path.isfile(dest) and not os.path.islink(dest) and os.path.getsize(dest) == size:
        same = _sha256_of(dest)[0] == sha
    if same or check_mode:
        return {"sha256": sha, "size": size, "changed": not same}
    digest = hashlib.sha256()
    size = 0
    with atomic_output(dest) as out, open(source, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
            size += len(block)
            out.write(block)
    return {"sha256": digest.hexdigest(), "size": size, "changed": True}


def checksum_line(sha256: str, file_name: str) -> str:
    """The ``sha256sum`` format: ``sha256sum -c`` verifies it from the same directory."""
    return f"{sha256}  {file_name}\n"


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


def _check_name(value, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigurationError(
            f"{what} must start with a letter or digit and contain only letters, digits and . _ + -, got {value!r}"
        )
    return value


def _check_summary(value, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigurationError(f"{what} must be a dictionary, got {type(value).__name__}")
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{what} must hold only JSON values (strings, numbers, lists, dicts): {exc}") from exc


def _passthrough(paths, fmt: str, suffixes: tuple[str, ...], what: str) -> list[tuple[str, str]]:
    """(source path, format) for each wheel or sdist; each entry may be a glob that must match."""
    if paths is None:
        return []
    if isinstance(paths, str) or not isinstance(paths, (list, tuple)):
        raise ConfigurationError(f"{what} must be a list of paths")
    found = []
    for entry in paths:
        if not isinstance(entry, str) or not entry:
            raise ConfigurationError(f"{what} entries must be non-empty paths, got {entry!r}")
        matches = sorted(glob.glob(entry)) if glob.has_magic(entry) else [entry]
        if not matches or not all(os.path.isfile(m) for m in matches):
            raise ConfigurationError(f"{what}: '{entry}' does not match any file; build it first or fix the path")
        for match in matches:
            if not match.endswith(suffixes):
                raise ConfigurationError(f"{what}: '{match}' is not a {' or '.join(suffixes)} file")
            # a build killed midway leaves a cut file: it must not be published with a valid-looking sha256
            check_complete(match, remedy=f"nothing was packaged; build the {fmt} again")
            found.append((os.path.abspath(match), fmt))
    return found


def package(
    src: str,
    name: str,
    version: str,
    dest: str,
    formats=("tar.gz",),
    include=None,
    exclude=None,
    prefix: str = "",
    wheels=None,
    sdists=None,
    source_date_epoch=None,
    git_dir: str | None = None,
    build_summary: dict | None = None,
    test_summary: dict | None = None,
    compression_level: int = 6,
    check_mode: bool = False,
    environ: dict | None = None,
    snapshot: bool = False,
    tracked: bool = False,
    release_tag: str | None = None,
) -> dict:
    """Package ``src`` into ``dest``: archives, ``.sha256`` files and the release manifest.

    With ``snapshot`` the version becomes ``<version>-dev.g<first 12 digits of the commit>`` (``<version>-dev``
    outside git): a prerelease named after the packaged commit. With ``tracked`` only the files git tracks in
    ``src`` are candidates (every file when ``src`` is not in a git work tree); ``file_selection`` in the
    result says which applied. An archive that would hold no file is an error, never an empty artifact.

    Without ``snapshot``, ``release_tag`` (a tag format such as ``v{version}``) makes the packaged commit prove it
    is the release: HEAD must carry the tag the format gives ``version``, else nothing is written and a
    ConfigurationError says so. Outside git there is no commit to check; ``release_tag`` in the result is the tag
    verified, or None.
    """
    name = _check_name(name, "name")
    version = _check_name(version, "version")
    tag_format = check_tag_format(release_tag)
    formats = list(formats or [])
    if not formats and not wheels and not sdists:
        raise ConfigurationError("nothing to package: give at least one format, wheel or sdist")
    for fmt in formats:
        if fmt not in FORMATS:
            raise ConfigurationError(f"unknown format {fmt!r}: use one or more of {', '.join(FORMATS)}")
    if len(set(formats)) != len(formats):
        raise ConfigurationError(f"formats lists the same format twice: {formats}")
    if prefix is None:
        prefix = ""
    if not isinstance(prefix, str) or ".." in prefix.split("/") or prefix.startswith("/"):
        raise ConfigurationError(f"prefix must be a relative directory name without '..', got {prefix!r}")
    compile_patterns(include, "include")  # bad globs fail before anything else happens
    compile_patterns(exclude, "exclude")
    builds = _check_summary(build_summary, "build_summary")
    tests = _check_summary(test_summary, "test_summary")
    extras = _passthrough(wheels, "wheel", (".whl",), "wheels") + _passthrough(
        sdists, "sdist", (".tar.gz", ".zip"), "sdists"
    )

    dest = os.path.abspath(dest)
    if os.path.lexists(dest) and not os.path.isdir(dest):
        raise ConfigurationError(f"dest '{dest}' exists and is not a directory")
    files: list[str] = []
    selection = None
    if formats:
        if src is None:
            raise ConfigurationError("src is required to build archives: give the build tree, or set formats: []")
        if not isinstance(src, str) or not os.path.isdir(src):
            raise ConfigurationError(f"src '{src}' is not a directory: give the build tree to package")
        src = os.path.abspath(src)
        candidates = git_tracked(src) if tracked else None
        selection = "tree" if candidates is None else "git"
        files = select_files(src, include, exclude, skip=[dest], tracked=candidates)
        if not files and selection == "git":
            raise ConfigurationError(
                f"no files selected in '{src}', the package would be empty: git tracks none that include and"
                " exclude keep; commit the application's files, or give include patterns"
            )
        if not files:
            raise ConfigurationError(
                f"no files selected in '{src}', the package would be empty: check include and exclude"
            )

    git_path = git_dir or (src if isinstance(src, str) and os.path.isdir(src) else None)
    if git_dir is not None and not os.path.isdir(git_dir):
        raise ConfigurationError(f"git_dir '{git_dir}' is not a directory")
    git = git_info(git_path, required=git_dir is not None) if git_path else None
    verified_tag = None
    if snapshot:
        version = snapshot_version(version, git)
    elif tag_format and git is not None:
        # a release version must come from the commit its tag names, the one the pipeline built and tested
        verified_tag = verify_release_tag(git_path, name, version, tag_format, git)
    epoch, epoch_source = resolve_epoch(source_date_epoch, os.environ if environ is None else environ, git)

    if not check_mode:
        os.makedirs(dest, exist_ok=True)
    artifacts = []
    names = set()
    for fmt in formats:
        file_name = archive_name(name, version, fmt)
        names.add(file_name)
        packed = pack(src, files, os.path.join(dest, file_name), fmt, epoch, prefix, compression_level, check_mode)
        artifacts.append({**packed, "format": fmt})
    for source, fmt in extras:
        file_name = os.path.basename(source)
        if file_name in names or file_name == manifest_name(name, version):
            raise ConfigurationError(f"two artifacts would be called '{file_name}': rename one of them")
        names.add(file_name)
        path = os.path.join(dest, file_name)
        copied = copy_artifact(source, path, check_mode)
        artifacts.append({"path": path, "name": file_name, "format": fmt, **copied})

    checksum_files = []
    for artifact in artifacts:
        checksum_path = artifact["path"] + ".sha256"
        written = write_text(checksum_path, checksum_line(artifact["sha256"], artifact["name"]), check_mode)
        artifact["changed"] = artifact["changed"] or written
        checksum_files.append(checksum_path)

    manifest = {
        "schema": MANIFEST_SCHEMA,
        "name": name,
        "version": version,
        "git": None if git is None else {"commit": git["commit"], "commit_time": git["commit_time"]},
        "source_date_epoch": epoch,
        "artifacts": sorted(
            ({k: a[k] for k in ("name", "format", "sha256", "size")} for a in artifacts), key=lambda a: a["name"]
        ),
        "build": builds,
        "tests": tests,
    }
    validate_manifest(manifest)
    manifest_path = os.path.join(dest, manifest_name(name, version))
    before = _read_text(manifest_path) or ""
    after = render_manifest(manifest)
    manifest_changed = write_text(manifest_path, after, check_mode)

    return {
        "changed": manifest_changed or any(a["changed"] for a in artifacts),
        "version": version,
        "artifacts": [
            {k: a[k] for k in ("path", "name", "format", "sha256", "size", "changed")}
            for a in sorted(artifacts, key=lambda a: a["name"])
        ],
        "checksum_files": sorted(checksum_files),
        "manifest": manifest,
        "manifest_path": manifest_path,
        "file_count": len(files),
        "file_selection": selection,
        "source_date_epoch": epoch,
        "source_date_epoch_from": epoch_source,
        "git": manifest["git"],
        "release_tag": verified_tag,
        "diff": {"before": before, "after": after, "before_header": manifest_path, "after_header": manifest_path},
    }
