# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The artifact repository engine: upload, fetch, promote, prune and describe releases.

Layout in every store: ``<name>/<version>/<file>`` with the release manifest
``<name>/<version>/<name>-<version>.manifest.json`` beside the files. The manifest is written last
and removed first, so a version is visible (listed, fetchable) only while it is complete.
Versions are immutable: the identity of a release is its name, version, git commit and the
(name, sha256, size) of every artifact.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import ARTIFACT_REPOSITORY
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import (
    ArtifactStore,
    IntegrityError,
    open_store,
    public_url,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store._base import LOCK_SUFFIX
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_write_bytes
from ansible_collections.conveyor.cicd.plugins.module_utils._diff import Comparison, add_diff, compare, view
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import sha256_bytes, sha256_file
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._semver import Version

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FORMATS = (("tar.gz", ".tar.gz"), ("tar.gz", ".tgz"), ("zip", ".zip"), ("wheel", ".whl"), ("sdist", ".tar.bz2"))


class ReleaseError(ConveyorError):
    """A release-level conflict: an immutable version with other content, a missing version."""


# --- versions ---------------------------------------------------------------------------------
def version_key(version: str):
    """Sort key in semantic-version precedence, or None when ``version`` is not a semantic version."""
    if not isinstance(version, str) or version != version.strip():
        return None  # a stored name is taken as it is: "1.0.0\n" is no release
    try:
        return Version.parse(version)
    except ConfigurationError:
        return None


def is_prerelease(version: str) -> bool:
    key = version_key(version)
    return key is not None and key.is_prerelease


def sort_versions(versions) -> list[str]:
    """Newest first; versions that are not semantic versions come last, by name."""
    semver = sorted((v for v in versions if version_key(v)), key=version_key, reverse=True)
    return semver + sorted(v for v in versions if not version_key(v))


def check_name(value: str, what: str) -> str:
    if not value or not _NAME.match(value) or ".." in value:
        raise ConfigurationError(f"invalid {what} {value!r}: use letters, digits and . _ + - (no '/' or '..')")
    return value


# --- layout -----------------------------------------------------------------------------------
def manifest_file(name: str, version: str) -> str:
    return f"{name}-{version}.manifest.json"


def object_key(name: str, version: str, filename: str) -> str:
    return f"{name}/{version}/{filename}"


def manifest_key(name: str, version: str) -> str:
    return object_key(name, version, manifest_file(name, version))


def connection_options(params: dict) -> dict:
    return {k: params.get(k) for k in ARTIFACT_REPOSITORY if k != "repository"}


def open_repository(params: dict, url_key: str = "repository", what: str | None = None) -> ArtifactStore:
    if params.get("retries") is not None and params["retries"] < 0:
        raise ConfigurationError("retries must be 0 or more")
    if params.get("stale_age") is not None and params["stale_age"] < 0:
        raise ConfigurationError("stale_age must be 0 or more seconds")
    return open_store(params[url_key], what=what or url_key, **connection_options(params))


def scan(store: ArtifactStore, name: str | None = None) -> dict:
    """{name: {"complete": [versions newest first], "incomplete": [...]}} from the keys in the store."""
    found: dict = {}
    for key in store.list(name or ""):
        parts = key.split("/")
        if len(parts) != 3:
            continue
        entry = found.setdefault(parts[0], {}).setdefault(parts[1], False)
        found[parts[0]][parts[1]] = entry or parts[2] == manifest_file(parts[0], parts[1])
    return {
        n: {
            "complete": sort_versions([v for v, done in versions.items() if done]),
            "incomplete": sort_versions([v for v, done in versions.items() if not done]),
        }
        for n, versions in sorted(found.items())
    }


def resolve_version(store: ArtifactStore, name: str, version: str) -> str:
    """``latest`` is the newest complete release (``latest-prerelease`` includes prereleases)."""
    if version not in ("latest", "latest-prerelease"):
        return check_name(version, "version")
    complete = scan(store, name).get(name, {}).get("complete", [])
    candidates = [v for v in complete if version_key(v) and (version != "latest" or not is_prerelease(v))]
    if not candidates:
        raise ReleaseError(
            f"{name} has no complete {'release' if version == 'latest' else 'version'} in {store.url}; upload one first"
        )
    return candidates[0]


def read_manifest(store: ArtifactStore, name: str, version: str) -> tuple[dict | None, bytes | None]:
    data = store.get_bytes(manifest_key(name, version))
    if data is None:
        return None, None
    return parse_manifest(data, store.url_for(manifest_key(name, version))), data


def parse_manifest(data: bytes, where: str) -> dict:
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        raise ConfigurationError(f"{where} is not valid JSON ({exc}); expected a release manifest") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != 1 or not isinstance(manifest.get("artifacts"), list):
        raise ConfigurationError(f"{where} is not a release manifest (expected schema 1 with an artifacts list)")
    for item in manifest["artifacts"]:
        if not isinstance(item, dict) or not {"name", "sha256", "size"} <= set(item):
            raise ConfigurationError(f"{where}: every artifact needs name, sha256 and size")
        if not isinstance(item["name"], str):
            raise ConfigurationError(f"{where}: artifact name {item['name']!r} must be a file name")
        check_name(item["name"], "artifact file name")
        if not isinstance(item["sha256"], str) or not _SHA256.fullmatch(item["sha256"]):
            raise ConfigurationError(
                f"{where}: artifact {item['name']} has sha256 {item['sha256']!r}, expected 64 lowercase hexadecimal "
                "characters; rebuild the package or fix the manifest"
            )
        if isinstance(item["size"], bool) or not isinstance(item["size"], int) or item["size"] < 0:
            raise ConfigurationError(
                f"{where}: artifact {item['name']} has size {item['size']!r}, expected a whole number of bytes; "
                "rebuild the package or fix the manifest"
            )
    for key in ("git", "build", "tests"):
        if manifest.get(key) is not None and not isinstance(manifest[key], dict):
            raise ConfigurationError(f"{where}: {key} must be a mapping, got {type(manifest[key]).__name__}")
    check_name(str(manifest.get("name", "")), "manifest name")
    check_name(str(manifest.get("version", "")), "manifest version")
    return manifest


def identity(manifest: dict) -> tuple:
    """What makes two uploads of a version the same release (build and test summaries may differ)."""
    files = sorted((a["name"], a["sha256"], int(a["size"])) for a in manifest["artifacts"])
    return (manifest.get("name"), manifest.get("version"), (manifest.get("git") or {}).get("commit"), files)


def artifact_format(filename: str) -> str:
    for fmt, suffix in _FORMATS:
        if filename.endswith(suffix):
            return fmt
    return filename.rsplit(".", 1)[-1] if "." in filename else "file"


def describe(store: ArtifactStore, manifest: dict) -> list[dict]:
    name, version = manifest["name"], manifest["version"]
    return [
        dict(
            name=a["name"],
            format=a.get("format") or artifact_format(a["name"]),
            sha256=a["sha256"],
            size=int(a["size"]),
            url=store.url_for(object_key(name, version, a["name"])),
        )
        for a in manifest["artifacts"]
    ]


# --- upload -----------------------------------------------------------------------------------
def _local_release(manifest_path, name, version, files):
    """(manifest dict, manifest bytes, [(local path, artifact record)]) for what is to be uploaded."""
    if manifest_path:
        try:
            with open(manifest_path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ConfigurationError(f"cannot read manifest {manifest_path}: {exc.strerror}") from None
        manifest = parse_manifest(data, manifest_path)
        for given, field in ((name, "name"), (version, "version")):
            if given and given != manifest[field]:
                raise ConfigurationError(f"{field} {given!r} does not match the manifest's {manifest[field]!r}")
        expected = manifest_file(manifest["name"], manifest["version"])
        if os.path.basename(manifest_path) != expected:
            data_name = os.path.basename(manifest_path)
            raise ConfigurationError(f"manifest file {data_name} should be named {expected}")
        directory = os.path.dirname(os.path.abspath(manifest_path))
        local = []
        for item in manifest["artifacts"]:
            path = os.path.join(directory, item["name"])
            if not os.path.isfile(path):
                raise ConfigurationError(
                    f"{item['name']} is listed in the manifest but missing beside it ({directory})"
                )
            size, digest = os.path.getsize(path), sha256_file(path)
            if size != int(item["size"]) or digest != item["sha256"]:
                raise IntegrityError(
                    f"{item['name']} does not match the manifest (sha256 {digest}, manifest says "
                    f"{item['sha256']}): rebuild the package or fix the manifest"
                )
            local.append((path, item))
        return manifest, data, local
    if not (name and version and files):
        raise ConfigurationError("give either manifest, or name, version and files")
    check_name(name, "name")
    check_name(version, "version")
    local = []
    seen = set()
    for path in files:
        if not os.path.isfile(path):
            raise ConfigurationError(f"{path} is not a file: list the artifact files to upload")
        filename = check_name(os.path.basename(path), "artifact file name")
        if filename in seen or filename == manifest_file(name, version):
            raise ConfigurationError(f"{filename} is listed twice (or clashes with the manifest name)")
        seen.add(filename)
        record = dict(
            name=filename, format=artifact_format(filename), sha256=sha256_file(path), size=os.path.getsize(path)
        )
        local.append((path, record))
    manifest = dict(
        schema=1,
        name=name,
        version=version,
        git={},
        source_date_epoch=None,
        artifacts=[record for dummy, record in local],
        build={},
        tests={},
    )
    data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return manifest, data, local


def upload(
    store: ArtifactStore,
    manifest=None,
    name=None,
    version=None,
    files=None,
    force=False,
    check_mode=False,
    want_diff=False,
) -> dict:
    """Publish one release. ``changed`` and the diff come from one comparison of the version's files before and
    after (sha256 and size, or absent), the leftovers removed and the manifest."""
    local_manifest, data, local = _local_release(manifest, name, version, files)
    name, version = local_manifest["name"], local_manifest["version"]
    cleaned = store.clean_stale(f"{name}/{version}", check_mode=check_mode)
    # a first look without the lock: a rerun that changes nothing (or must fail) never waits for one
    plan = _plan_upload(store, local_manifest, data, local, force)
    if check_mode or plan["done"]:
        return _upload_result(store, plan, cleaned, want_diff)
    with version_lock(store, name, version, local_manifest, "publish a new version", wait=force):
        plan = _plan_upload(store, local_manifest, data, local, force)  # again: another run may have finished
        if plan["done"]:
            return _upload_result(store, plan, cleaned, want_diff)
        if plan["replaced"]:
            store.delete(manifest_key(name, version))  # invisible while it is being replaced
        for key in plan["stale"]:
            store.delete(key)
        for path, item in plan["local"]:
            store.put(object_key(name, version, item["name"]), path, sha256=item["sha256"])
        if plan["repair"]:
            store.put_bytes(manifest_key(name, version), plan["data"])
        else:
            commit_manifest(store, name, version, plan["data"], local_manifest, "publish a new version")
    return _upload_result(store, plan, cleaned, want_diff)


def _plan_upload(store, local_manifest, data, local, force) -> dict:
    """What an upload has to do now: the files to send, the leftovers to delete, or nothing (``done``).

    ``found`` holds what the repository has of each file of the release (ObjectInfo or None), and
    ``remote_data`` the manifest stored now: the "before" of the diff."""
    name, version = local_manifest["name"], local_manifest["version"]
    remote, remote_data = read_manifest(store, name, version)
    plan = dict(manifest=local_manifest, data=data, local=local, stale=[], replaced=False, repair=False, done=False)
    plan["remote_data"] = remote_data
    if remote is not None:
        if identity(remote) == identity(local_manifest):
            plan["found"] = {item["name"]: store.head(object_key(name, version, item["name"])) for _p, item in local}
            missing = [item["name"] for dummy, item in local if not _matches(plan["found"][item["name"]], item)]
            # repair damaged files, keep the first published record
            plan.update(manifest=remote, data=remote_data, local=[(p, i) for p, i in local if i["name"] in missing])
            plan.update(repair=True, done=not missing)
            return plan
        if not (force and is_prerelease(version)):
            raise immutable(store, name, version, remote, "publish a new version")
        plan["replaced"] = True
    wanted = {item["name"] for dummy, item in local} | {manifest_file(name, version)}
    listed = store.list(f"{name}/{version}")
    plan["stale"] = [k for k in listed if k.rsplit("/", 1)[-1] not in wanted]
    plan["found"] = {
        item["name"]: store.head(key) if key in listed else None
        for key, item in ((object_key(name, version, item["name"]), item) for dummy, item in local)
    }
    return plan


def immutable(store, name, version, remote, advice) -> ReleaseError:
    """The one message for a version that is taken (published, or being published by another run)."""
    hint = "" if is_prerelease(version) or advice != "publish a new version" else " (force only applies to prereleases)"
    details = {"existing_sha256": {a["name"]: a["sha256"] for a in remote["artifacts"]}} if remote else {}
    return ReleaseError(
        f"{name} {version} already exists in {store.url} with different content; versions are immutable: "
        f"{advice}{hint}",
        **details,
    )


def _release_digest(manifest: dict) -> str:
    return sha256_bytes(json.dumps(identity(manifest), sort_keys=True).encode())


@contextlib.contextmanager
def version_lock(store: ArtifactStore, name: str, version: str, manifest: dict, advice: str, wait: bool = False):
    """Hold the lock that makes one writer at a time publish ``name`` ``version`` in ``store``.

    A holder writing other content wins: fail at once (unless ``wait``, for a forced prerelease). A holder
    writing the same release is waited for (up to ``timeout`` seconds); after that, writing the same bytes
    beside it is harmless and the manifest's conditional write decides who reports the change."""
    key = f"{name}/.{version}{LOCK_SUFFIX}"
    mine = _release_digest(manifest)
    deadline = time.monotonic() + max(1, store.timeout or 1)
    while True:
        held = store.try_lock(key, {"release": mine})
        if held is None:
            break
        theirs = held.get("release")
        if theirs and theirs != mine and not wait:
            raise immutable(store, name, version, None, advice)
        if time.monotonic() > deadline:
            if theirs == mine:
                yield
                return
            raise ReleaseError(
                f"{name} {version} is being written by another run in {store.url}; run again when it has finished "
                f"(the lock of a run that was killed expires after stale_age, {store.stale_age} seconds)"
            )
        time.sleep(0.2)
    try:
        yield
    finally:
        store.unlock(key)


def commit_manifest(store, name, version, data, manifest, advice) -> bool:
    """Write the manifest only if the version is still free: the commit point, decided by the backend's
    conditional write. False when the same release got there first; different content fails."""
    if store.create_bytes(manifest_key(name, version), data) is not None:
        return True
    existing = read_manifest(store, name, version)[0]
    if existing is not None and identity(existing) == identity(manifest):
        return False
    raise immutable(store, name, version, existing, advice)


def _matches(info, item) -> bool:
    return info is not None and info.size == int(item["size"]) and info.sha256 == item["sha256"]


# --- diffs ------------------------------------------------------------------------------------
def _stored(sha256: str | None, size: int) -> str:
    return f"sha256 {sha256 or 'unknown'}, {size} bytes"


def _file_line(filename: str, state: str | None) -> str:
    return f"{filename}: {state or 'absent'}"


def _info_state(info) -> str | None:
    return None if info is None else _stored(info.sha256, info.size)


def _data_state(data: bytes | None) -> str | None:
    return None if data is None else _stored(sha256_bytes(data), len(data))


def version_comparison(store, name, version, files, removed=(), cleaned=()) -> Comparison:
    """The files of one version before and after a run, compared once.

    ``files`` is ``[(file name, state before, state after)]`` (a state is ``sha256 ..., N bytes`` or None for
    absent); ``removed`` lists the version's keys the run deletes, ``cleaned`` what interrupted runs left."""
    prefix = f"{name}/{version}/"
    before = [_file_line(filename, was) for filename, was, _will in files]
    before += [f"{key.removeprefix(prefix)}: present" for key in removed]
    before += [f"{key}: left by an interrupted run" for key in cleaned]
    after = [_file_line(filename, will) for filename, _was, will in files]
    return compare(view(before), view(after), store.url_for(f"{name}/{version}"))


def _upload_result(store, plan, cleaned, want_diff=False) -> dict:
    manifest = plan["manifest"]
    name, version = manifest["name"], manifest["version"]
    uploaded = [item["name"] for dummy, item in plan["local"]] if not plan["done"] else []
    sent = {item["name"]: item for dummy, item in plan["local"]} if not plan["done"] else {}
    files = []
    for item in manifest["artifacts"]:
        was = _info_state(plan["found"].get(item["name"]))
        will = _stored(item["sha256"], int(item["size"])) if item["name"] in sent else was
        files.append((item["name"], was, will))
    was = _data_state(plan["remote_data"])
    files.append((manifest_file(name, version), was, was if plan["repair"] else _data_state(plan["data"])))
    comparison = version_comparison(store, name, version, files, plan["stale"], cleaned)
    result = dict(
        changed=comparison.changed,
        name=name,
        version=version,
        repository=store.url,
        uploaded=uploaded,
        replaced=plan["replaced"],
        cleaned=cleaned,
        artifacts=describe(store, manifest),
        manifest=parse_manifest(plan["data"], manifest_key(name, version)) if not plan["done"] else manifest,
        manifest_url=store.url_for(manifest_key(name, version)),
    )
    return add_diff(result, comparison, want_diff)


# --- fetch ------------------------------------------------------------------------------------
def fetch(
    store: ArtifactStore, name, version, dest, files=None, write_manifest=True, mode=0o644, check_mode=False
) -> dict:
    check_name(name, "name")
    version = resolve_version(store, name, version)
    manifest, data = read_manifest(store, name, version)
    if manifest is None:
        versions = scan(store, name).get(name, {}).get("complete", [])
        raise ReleaseError(
            f"{name} {version} is not in {store.url} (complete versions: {', '.join(versions[:10]) or 'none'})"
        )
    wanted = manifest["artifacts"]
    if files:
        known = {a["name"] for a in wanted}
        unknown = sorted(set(files) - known)
        if unknown:
            raise ConfigurationError(
                f"{', '.join(unknown)} not in {name} {version} (files: {', '.join(sorted(known))})"
            )
        wanted = [a for a in wanted if a["name"] in files]
    if not os.path.isdir(dest) and not check_mode:
        os.makedirs(dest, exist_ok=True)
    downloaded, results = [], []
    for item in wanted:
        path = os.path.join(dest, item["name"])
        if not (
            os.path.isfile(path)
            and not os.path.islink(path)
            and os.path.getsize(path) == int(item["size"])
            and sha256_file(path) == item["sha256"]
        ):
            downloaded.append(item["name"])
            if not check_mode:
                store.get(object_key(name, version, item["name"]), path, sha256=item["sha256"], mode=mode)
        results.append(dict(name=item["name"], path=path, sha256=item["sha256"], size=int(item["size"])))
    manifest_path = None
    if write_manifest:
        manifest_path = os.path.join(dest, manifest_file(name, version))
        current = None
        if os.path.isfile(manifest_path) and not os.path.islink(manifest_path):
            current = sha256_file(manifest_path)
        if current != sha256_bytes(data):
            downloaded.append(manifest_file(name, version))
            if not check_mode:
                atomic_write_bytes(manifest_path, data, mode)
    return dict(
        changed=bool(downloaded),
        name=name,
        version=version,
        repository=store.url,
        dest=dest,
        downloaded=downloaded,
        files=results,
        manifest=manifest,
        manifest_path=manifest_path,
    )


# --- promote ----------------------------------------------------------------------------------
def promote(source: ArtifactStore, dest: ArtifactStore, name, version, check_mode=False, want_diff=False) -> dict:
    """Copy one complete version into ``dest``. ``changed`` and the diff come from one comparison of the
    version's files in ``dest`` before and after."""
    check_name(name, "name")
    version = resolve_version(source, name, version)
    manifest, data = read_manifest(source, name, version)
    if manifest is None:
        raise ReleaseError(f"{name} {version} is not a complete version in {source.url}; upload it there first")
    cleaned = dest.clean_stale(f"{name}/{version}", check_mode=check_mode)
    plan = _plan_promote(dest, manifest, data)
    if check_mode or not plan["changed"]:
        return _promote_result(source, dest, manifest, plan, [], cleaned, want_diff)
    with version_lock(dest, name, version, manifest, "promote a new version"):
        plan = _plan_promote(dest, manifest, data)  # again: another run may have finished meanwhile
        server_side = []
        for item in plan["copy"]:
            key = object_key(name, version, item["name"])
            info = dest.copy(source, key, key, sha256=item["sha256"], size=int(item["size"]))
            if info.server_side:
                server_side.append(item["name"])
        if plan["changed"]:
            if plan["existing"] is None:
                commit_manifest(dest, name, version, data, manifest, "promote a new version")
            else:
                dest.put_bytes(manifest_key(name, version), data)
    return _promote_result(source, dest, manifest, plan, server_side, cleaned, want_diff)


def _plan_promote(dest, manifest, data: bytes) -> dict:
    name, version = manifest["name"], manifest["version"]
    existing, existing_data = read_manifest(dest, name, version)
    if existing is not None and identity(existing) != identity(manifest):
        raise immutable(dest, name, version, existing, "promote a new version")
    found = {item["name"]: dest.head(object_key(name, version, item["name"])) for item in manifest["artifacts"]}
    copy = [item for item in manifest["artifacts"] if not _matches(found[item["name"]], item)]
    return dict(
        existing=existing,
        existing_data=existing_data,
        data=data,
        found=found,
        copy=copy,
        changed=bool(copy) or existing is None,
    )


def _promote_result(source, dest, manifest, plan, server_side, cleaned, want_diff=False) -> dict:
    name, version = manifest["name"], manifest["version"]
    copied = {item["name"] for item in plan["copy"]}
    files = []
    for item in manifest["artifacts"]:
        was = _info_state(plan["found"][item["name"]])
        files.append((item["name"], was, _stored(item["sha256"], int(item["size"])) if item["name"] in copied else was))
    was = _data_state(plan["existing_data"])
    # the source's manifest is written whenever anything is copied or the destination has none
    will = _data_state(plan["data"]) if plan["changed"] else was
    files.append((manifest_file(name, version), was, will))
    comparison = version_comparison(dest, name, version, files, cleaned=cleaned)
    result = dict(
        changed=comparison.changed,
        name=name,
        version=version,
        source=source.url,
        repository=dest.url,
        copied=[item["name"] for item in plan["copy"]],
        server_side=server_side,
        cleaned=cleaned,
        artifacts=describe(dest, manifest),
        manifest=manifest,
        manifest_url=dest.url_for(manifest_key(name, version)),
    )
    return add_diff(result, comparison, want_diff)


# --- prune ------------------------------------------------------------------------------------
def _protected(protect, name, version) -> bool:
    return version in protect or f"{name}@{version}" in protect


def prune(
    store: ArtifactStore, keep: int, name=None, keep_prereleases=None, protect=(), check_mode=False, want_diff=False
) -> dict:
    """Delete all but the newest ``keep`` versions of each name. ``changed`` and the diff come from one comparison
    of the complete versions (and the leftovers of interrupted runs) before and after."""
    if keep < 0 or (keep_prereleases is not None and keep_prereleases < 0):
        raise ConfigurationError("keep and keep_prereleases must be 0 or more")
    if name:
        check_name(name, "name")
    protect = set(protect or ())
    cleaned = store.clean_stale(name or "", check_mode=check_mode)
    deleted, kept, unsorted, incomplete = [], [], [], []
    before, after = [], []
    for found_name, versions in scan(store, name).items():
        incomplete += [dict(name=found_name, version=v) for v in versions["incomplete"]]
        ordered = [v for v in versions["complete"] if version_key(v)]
        unsorted += [dict(name=found_name, version=v) for v in versions["complete"] if not version_key(v)]
        if keep_prereleases is None:
            ranked = [(ordered, keep)]
        else:
            ranked = [
                ([v for v in ordered if not is_prerelease(v)], keep),
                ([v for v in ordered if is_prerelease(v)], keep_prereleases),
            ]
        doomed = set()
        for group, count in ranked:
            for index, version in enumerate(group):
                entry = dict(name=found_name, version=version)
                keep_it = index < count or _protected(protect, found_name, version)
                (kept if keep_it else deleted).append(entry)
                if not keep_it:
                    doomed.add(version)
        before += [f"{found_name} {version}" for version in versions["complete"]]
        after += [f"{found_name} {version}" for version in versions["complete"] if version not in doomed]
    before += [f"{key}: left by an interrupted run" for key in cleaned]
    comparison = compare(view(before), view(after), store.url)
    if not check_mode:
        for entry in deleted:
            delete_version(store, entry["name"], entry["version"])
    result = dict(
        changed=comparison.changed,
        repository=store.url,
        deleted=deleted,
        cleaned=cleaned,
        kept=kept,
        unsorted=unsorted,
        incomplete=incomplete,
    )
    return add_diff(result, comparison, want_diff)


def delete_version(store: ArtifactStore, name: str, version: str) -> None:
    """Manifest first (the version disappears at once), then its files and directory."""
    store.delete(manifest_key(name, version))
    for key in store.list(f"{name}/{version}"):
        store.delete(key)
    store.remove_directory(f"{name}/{version}")


# --- info -------------------------------------------------------------------------------------
def info(store: ArtifactStore, name=None, version=None) -> dict:
    if name:
        check_name(name, "name")
    found = scan(store, name)
    releases: dict = {}
    latest: dict = {}
    incomplete: dict = {}
    for found_name, versions in found.items():
        chosen = versions["complete"]
        if version in ("latest", "latest-prerelease"):
            wanted = [v for v in chosen if version_key(v) and (version != "latest" or not is_prerelease(v))]
            chosen = wanted[:1]
        elif version:
            chosen = [v for v in chosen if v == version]
        entries = []
        for v in chosen:
            manifest = read_manifest(store, found_name, v)[0]
            if manifest is None:
                continue
            entries.append(
                dict(
                    version=v,
                    prerelease=is_prerelease(v),
                    git=manifest.get("git") or {},
                    source_date_epoch=manifest.get("source_date_epoch"),
                    build=manifest.get("build") or {},
                    tests=manifest.get("tests") or {},
                    artifacts=describe(store, manifest),
                    manifest_url=store.url_for(manifest_key(found_name, v)),
                )
            )
        releases[found_name] = entries
        releases_only = [v for v in versions["complete"] if version_key(v) and not is_prerelease(v)]
        latest[found_name] = releases_only[0] if releases_only else None
        if versions["incomplete"]:
            incomplete[found_name] = versions["incomplete"]
    return dict(
        changed=False,
        repository=store.url,
        names=sorted(found),
        releases=releases,
        latest=latest,
        incomplete=incomplete,
    )


__all__ = [
    "delete_version",
    "fetch",
    "info",
    "open_repository",
    "promote",
    "prune",
    "public_url",
    "upload",
    "version_key",
]
