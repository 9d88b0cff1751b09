# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release-directory state machine behind conveyor.cicd.app_rollout.

Layout under ``root``::

    releases/<release_id>/     one unpacked artifact per release
    shared/                    paths that persist across releases, linked into each one
    current -> releases/<id>   relative symlink, switched by rename (never absent once created)
    releases.json              the state file: every release with version, sha256, deployed_at, status
    .staging/                  unpack area; a release appears under releases/ only when complete
    .trash/                    releases being deleted
    .lock                      flock held while a deploy runs

Statuses: ``pending`` (unpacked, not yet healthy), ``active`` (what ``current`` serves), ``previous``
(was active and healthy: a rollback target), ``failed`` (health check or hook failed), ``rolled_back``
(was active, then rolled back from).

With ``python_env``, the release's Python environment is built at its final path (``releases/<id>/.venv``)
from the wheelhouse the artifact carries, with no package index, after the rename and before the switch; a
release whose environment cannot be built is never switched to.

Every step is restartable: a run killed at any point leaves ``current`` valid, and the next run
first repairs what it finds (staging leftovers, temporary links, releases missing from the state
file) before it continues.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._archive import safe_unpack
from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import parse_manifest
from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import (
    LINK_TEMP_MARK,
    atomic_symlink,
    atomic_write_json,
    fsync_dir,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._diff import add_diff, compare
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import sha256_file
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._health import check as health_check
from ansible_collections.conveyor.cicd.plugins.module_utils._health import normalize as normalize_health
from ansible_collections.conveyor.cicd.plugins.module_utils._health import substitute
from ansible_collections.conveyor.cicd.plugins.module_utils._process import run
from ansible_collections.conveyor.cicd.plugins.module_utils._service import make_service
from ansible_collections.conveyor.cicd.plugins.module_utils._urls import check_url, url_file_name
from ansible_collections.conveyor.cicd.plugins.module_utils._wheelhouse import PythonEnv

SCHEMA = 1
STATUSES = ("pending", "active", "previous", "failed", "rolled_back")
GOOD = ("active", "previous")
HOOK_POINTS = ("after_unpack", "before_switch", "after_switch", "after_health")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\Z")
_SHA = re.compile(r"^[0-9a-f]{64}\Z")
# Test-only: a file path; the switch touches it and waits between creating the temporary link and the rename.
PAUSE_IN_SWITCH_ENV = "_CONVEYOR_ROLLOUT_PAUSE_IN_SWITCH"


class RolloutError(ConveyorError):
    """A deploy that could not complete (after any automatic rollback)."""


# --- layout and state file ---------------------------------------------------------------------
class Layout:
    def __init__(self, root: str):
        if not root or not os.path.isabs(root):
            raise ConfigurationError(f"root {root!r} must be an absolute path")
        self.root = os.path.normpath(root)
        self.releases = os.path.join(self.root, "releases")
        self.shared = os.path.join(self.root, "shared")
        self.current = os.path.join(self.root, "current")
        self.state_file = os.path.join(self.root, "releases.json")
        self.staging = os.path.join(self.root, ".staging")
        self.trash = os.path.join(self.root, ".trash")
        self.lock = os.path.join(self.root, ".lock")

    def release(self, release_id: str) -> str:
        return os.path.join(self.releases, release_id)

    def ensure(self) -> None:
        for path in (self.root, self.releases, self.shared):
            os.makedirs(path, exist_ok=True)


def check_release_id(release_id: str) -> str:
    if not isinstance(release_id, str) or not _ID.match(release_id):
        raise ConfigurationError(
            f"release id {release_id!r} is not usable as a directory name: use letters, digits, '.', '_', '+', '-'"
        )
    return release_id


def make_release_id(version: str | None, sha256: str) -> str:
    """Deterministic, so deploying the same artifact twice finds the same release."""
    if version:
        clean = re.sub(r"[^A-Za-z0-9._+-]", "_", str(version)).lstrip("._+-")[:64]
        if clean:
            return f"{clean}-{sha256[:12]}"
    return sha256[:12]


def empty_state() -> dict:
    return {"schema": SCHEMA, "releases": [], "last_rollback": None}


def read_state(layout: Layout) -> dict:
    try:
        with open(layout.state_file, encoding="utf-8") as handle:
            state = json.load(handle)
    except FileNotFoundError:
        return empty_state()
    except ValueError as exc:
        raise ConfigurationError(
            f"{layout.state_file} is not valid JSON ({exc}); restore it or move it away to rebuild it"
        ) from exc
    if not isinstance(state, dict) or not isinstance(state.get("releases"), list):
        raise ConfigurationError(f"{layout.state_file} has no 'releases' list; move it away to rebuild it")
    for index, item in enumerate(state["releases"]):
        problem = _entry_problem(item)
        if problem:
            raise ConfigurationError(
                f"{layout.state_file} is damaged: releases[{index}] {problem}; "
                "fix or remove that entry, or restore the file from a backup"
            )
    if state.get("last_rollback") is not None and not isinstance(state["last_rollback"], dict):
        raise ConfigurationError(
            f"{layout.state_file} is damaged: last_rollback must be null or a mapping; set it to null"
        )
    state.setdefault("last_rollback", None)
    return state


def _entry_problem(item) -> str | None:
    """What is wrong with one entry of the state file, or None."""
    if not isinstance(item, dict):
        return "is not a mapping"
    if "id" not in item:
        return "has no 'id'"
    if not isinstance(item["id"], str) or not _ID.fullmatch(item["id"]):
        return f"has id {item['id']!r}, which is not a release directory name"
    if item.get("status") not in STATUSES:
        return f"({item['id']}) has status {item.get('status')!r}; expected one of {', '.join(STATUSES)}"
    seq = item.get("seq", 0)
    if isinstance(seq, bool) or not isinstance(seq, int):
        return f"({item['id']}) has seq {seq!r}; expected a whole number"
    for key in ("version", "sha256", "deployed_at"):
        if item.get(key) is not None and not isinstance(item[key], str):
            return f"({item['id']}) has {key} {item[key]!r}; expected a string or null"
    return None


def write_state(layout: Layout, state: dict) -> None:
    """Written whole (temporary file, fsync, rename, folder fsync): the state file is old or new, never torn."""
    atomic_write_json(layout.state_file, state, 0o644)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry(state: dict, release_id: str) -> dict | None:
    for item in state["releases"]:
        if item["id"] == release_id:
            return item
    return None


def _next_seq(state: dict) -> int:
    return max((int(item.get("seq", 0)) for item in state["releases"]), default=0) + 1


def ordered(state: dict) -> list[dict]:
    """Releases, oldest first (by activation sequence)."""
    return sorted(state["releases"], key=lambda item: int(item.get("seq", 0)))


# --- the symlink ----------------------------------------------------------------------------------
def switch_symlink(link: str, target: str) -> None:
    """Point ``link`` at ``target`` atomically: a new symlink under a temporary name, then rename."""
    atomic_symlink(target, link, before_replace=_pause_in_switch)


def _pause_in_switch() -> None:
    pause = os.environ.get(PAUSE_IN_SWITCH_ENV)
    if pause:
        with open(pause, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        time.sleep(60)


def current_release(layout: Layout) -> str | None:
    """The release id ``current`` points at, or None when there is no valid link."""
    try:
        target = os.readlink(layout.current)
    except OSError:
        return None
    resolved = os.path.normpath(os.path.join(layout.root, target))
    if os.path.dirname(resolved) != layout.releases or not os.path.isdir(resolved):
        return None
    return os.path.basename(resolved)


def point_current(layout: Layout, release_id: str) -> None:
    switch_symlink(layout.current, os.path.join("releases", release_id))


# --- locking and repair ----------------------------------------------------------------------------
@contextlib.contextmanager
def locked(layout: Layout, timeout: float):
    os.makedirs(layout.root, exist_ok=True)
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    raise ConveyorError(
                        f"another deploy holds {layout.lock} (waited {timeout:.0f} s); try again when it has finished"
                    ) from exc
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def repair(layout: Layout, state: dict, check_mode: bool = False) -> tuple[dict, list[str]]:
    """Bring the directory and the state file back in line after an interrupted run.

    Returns the repaired state and what was repaired. Nothing is written in check mode.
    """
    notes = []
    for leftover in (layout.staging, layout.trash):
        if os.path.isdir(leftover) and os.listdir(leftover):
            notes.append(f"removed unfinished work in {os.path.basename(leftover)}/")
            if not check_mode:
                shutil.rmtree(leftover, ignore_errors=True)
    prefix = os.path.basename(layout.current) + LINK_TEMP_MARK
    for name in os.listdir(layout.root) if os.path.isdir(layout.root) else []:
        if name.startswith(prefix) and os.path.islink(os.path.join(layout.root, name)):
            notes.append(f"removed temporary link {name}")
            if not check_mode:
                os.unlink(os.path.join(layout.root, name))
    state = json.loads(json.dumps(state))
    on_disk = set(os.listdir(layout.releases)) if os.path.isdir(layout.releases) else set()
    on_disk = {name for name in on_disk if os.path.isdir(layout.release(name)) and _ID.match(name)}
    live = current_release(layout)
    kept = []
    for item in state["releases"]:
        if item["id"] in on_disk:
            kept.append(item)
        else:
            notes.append(f"forgot release {item['id']} (its directory is gone)")
    state["releases"] = kept
    known = {item["id"] for item in kept}
    for name in sorted(on_disk - known):
        if name == live:
            notes.append(f"adopted release {name} (current points at it)")
            kept.append({"id": name, "version": None, "sha256": None, "deployed_at": now(), "status": "active"})
            kept[-1]["seq"] = _next_seq(state)
        else:
            notes.append(f"removed release {name} (not in the state file: an interrupted unpack)")
            if not check_mode:
                _remove_tree(layout, name)
    for item in kept:
        if item["id"] == live and item["status"] not in ("active", "pending"):
            notes.append(f"marked {item['id']} active (current points at it)")
            item["status"] = "active"
        elif item["id"] != live and item["status"] == "active":
            notes.append(f"marked {item['id']} previous (current no longer points at it)")
            item["status"] = "previous"
    return state, notes


def _remove_tree(layout: Layout, release_id: str) -> None:
    """Move the release out of releases/ in one rename, then delete it."""
    os.makedirs(layout.trash, exist_ok=True)
    doomed = tempfile.mkdtemp(prefix=f"{release_id}.", dir=layout.trash)
    os.rename(layout.release(release_id), os.path.join(doomed, release_id))
    shutil.rmtree(doomed, ignore_errors=True)


# --- rules ---------------------------------------------------------------------------------------
def previous_good(state: dict, exclude: str | None) -> str | None:
    """The most recently activated healthy release other than ``exclude``."""
    for item in reversed(ordered(state)):
        if item["id"] != exclude and item["status"] in GOOD:
            return item["id"]
    return None


def plan_prune(state: dict, keep: int, keep_failed: int, protect=(), current: str | None = None) -> list[str]:
    """Release ids to delete.

    Healthy releases (active, previous) fill the ``keep`` slots, newest first. Failed, rolled-back and
    abandoned pending releases never take a slot: the newest ``keep_failed`` of them are kept for
    inspection. Never pruned: the current release, the previous good one, anything in ``protect``.
    """
    if keep < 1:
        raise ConfigurationError("keep_releases must be 1 or more")
    if keep_failed < 0:
        raise ConfigurationError("keep_failed_releases must be 0 or more")
    rolled_back_from = (state.get("last_rollback") or {}).get("from")  # the roll-forward target
    spared = {current, previous_good(state, current), rolled_back_from, *protect}
    good = [item["id"] for item in reversed(ordered(state)) if item["status"] in GOOD]
    bad = [item["id"] for item in reversed(ordered(state)) if item["status"] not in GOOD]
    doomed = good[keep:] + bad[keep_failed:]
    order = [item["id"] for item in ordered(state)]
    return sorted((rid for rid in doomed if rid not in spared), key=order.index)


def render_view(current: str | None, statuses: dict) -> str:
    """The diff's text: which release is current and the status of each, newest first."""
    lines = [f"current: {current or '(none)'}", "releases:"]
    lines += [f"  {release_id}: {status}" for release_id, status in reversed(list(statuses.items()))]
    return "\n".join(lines) + "\n"


def release_summary(state: dict) -> list[dict]:
    return [{k: item.get(k) for k in ("id", "version", "sha256", "deployed_at", "status")} for item in ordered(state)]


# --- artifact sources ------------------------------------------------------------------------------
class ArtifactSource:
    """Where the artifact comes from, its expected sha256 (known before any download when possible)."""

    def __init__(self, params: dict):
        self.path = params.get("artifact_path")
        self.url = params.get("artifact_url")
        self.repository = params.get("repository")
        self.options = dict(params.get("repository_options") or {})
        self.name = params.get("name")
        self.version = params.get("version")
        self.file = params.get("file")
        self.sha256 = (params.get("artifact_sha256") or "").lower() or None
        given = [k for k in ("artifact_path", "artifact_url", "repository") if params.get(k)]
        if len(given) != 1:
            raise ConfigurationError(
                "give exactly one of artifact_path, artifact_url or repository (with name, version)"
            )
        if self.sha256 and not _SHA.match(self.sha256):
            raise ConfigurationError("artifact_sha256 must be 64 hexadecimal characters")
        if self.url and not self.sha256:
            raise ConfigurationError("artifact_url needs artifact_sha256: an unverified download is never deployed")
        if self.url:
            url_file_name(self.url, "artifact_url")
        if self.repository:
            check_url(self.repository, "repository", schemes=("file", "s3", "http", "https"))
        if self.repository and not (self.name and self.version):
            raise ConfigurationError(
                "repository needs name and version (and file, unless it is <name>-<version>.tar.gz)"
            )
        self._store = None

    def store(self):
        from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store import open_store

        if self._store is None:
            if self.url:
                self._store = open_store(self.url.rsplit("/", 1)[0], what="artifact_url", **self.options)
            else:
                self._store = open_store(self.repository, what="repository", **self.options)
        return self._store

    def key(self) -> str:
        if self.url:
            return self.url.rsplit("/", 1)[1]
        return f"{self.name}/{self.version}/{self.file or f'{self.name}-{self.version}.tar.gz'}"

    def expected_sha256(self) -> str:
        """The digest the artifact must have; for a local path, its digest."""
        if self.path:
            if not os.path.isfile(self.path):
                raise ConfigurationError(f"artifact_path {self.path} does not exist or is not a file")
            actual = sha256_file(self.path)
            if self.sha256 and actual != self.sha256:
                raise ConveyorError(
                    f"artifact {self.path} has sha256 {actual}, expected {self.sha256}; refusing to deploy it",
                    expected_sha256=self.sha256,
                    actual_sha256=actual,
                )
            return actual
        if self.repository and not self.sha256:
            self.sha256 = self._sha256_from_manifest()
        return self.sha256

    def _sha256_from_manifest(self) -> str:
        filename = self.key().rsplit("/", 1)[1]
        key = f"{self.name}/{self.version}/{self.name}-{self.version}.manifest.json"
        data = self.store().get_bytes(key)
        if data is None:
            raise ConveyorError(
                f"{self.name} {self.version} has no release manifest in the repository; publish it first"
            )
        artifacts = parse_manifest(data, self.store().url_for(key))["artifacts"]
        for item in artifacts:
            if item["name"] == filename:
                return item["sha256"]
        names = ", ".join(sorted(item["name"] for item in artifacts))
        raise ConfigurationError(f"{filename} is not in {self.name} {self.version} (files: {names}); set file")

    def fetch(self, directory: str) -> str:
        """A verified local copy of the artifact (the path itself for artifact_path)."""
        if self.path:
            return self.path
        os.makedirs(directory, exist_ok=True)
        dest = os.path.join(directory, self.key().rsplit("/", 1)[-1])
        self.store().get(self.key(), dest, sha256=self.sha256)
        return dest


# --- the state machine -----------------------------------------------------------------------------
class Rollout:
    """One run of app_rollout against one root."""

    def __init__(self, params: dict, check_mode: bool = False, want_diff: bool = False):
        self.params = params
        self.check_mode = check_mode
        self.want_diff = want_diff
        self._before: str | None = None
        self.layout = Layout(params["root"])
        self.keep = int(params.get("keep_releases") or 5)
        self.keep_failed = int(params.get("keep_failed_releases", 1))
        self.protect = list(params.get("protect") or [])
        # a point the module's spec filled in with None has no commands
        self.hooks = {point: argvs for point, argvs in (params.get("hooks") or {}).items() if argvs is not None}
        unknown = sorted(set(self.hooks) - set(HOOK_POINTS))
        if unknown:
            raise ConfigurationError(f"unknown hook point {unknown[0]!r}: use {', '.join(HOOK_POINTS)}")
        for point, commands in self.hooks.items():
            if not isinstance(commands, list) or not all(isinstance(argv, list) and argv for argv in commands):
                raise ConfigurationError(f"hooks.{point} must be a list of argv lists, such as [[./migrate, --check]]")
        self.health_spec = normalize_health(params.get("health"))
        self._switched = False
        self.shared_paths = [self._check_shared(path) for path in params.get("shared_paths") or []]
        env_spec = params.get("python_env")
        self.python_env = PythonEnv(env_spec) if env_spec is not None else None
        self.result = {
            "changed": False,
            "release_id": None,
            "previous_release": None,
            "current_release": None,
            "rolled_back": False,
            "switched": False,
            "restarted": False,
            "health": None,
            "pruned": [],
            "repaired": [],
            "releases": [],
            "python_env": None,
        }

    @staticmethod
    def _check_shared(path: str) -> str:
        clean = os.path.normpath(path.rstrip("/"))
        if os.path.isabs(path) or clean.startswith("..") or clean in (".", ""):
            raise ConfigurationError(f"shared path {path!r} must be relative to the release, without '..'")
        return path

    # -- helpers
    def values(self, release_id: str | None, version: str | None) -> dict:
        return {
            "release_id": release_id,
            "version": version,
            # the version without a prerelease or build suffix: what an application built from a snapshot
            # (1.4.0-dev.g1a2b3c) reports about itself
            "base_version": re.split(r"[-+]", version, maxsplit=1)[0] if version else "",
            "release_path": self.layout.release(release_id) if release_id else "",
            "root": self.layout.root,
            "shared": self.layout.shared,
        }

    def service(self, release_id, version):
        return make_service(
            self.params.get("service"), self.values(release_id, version), self.params.get("service_secrets")
        )

    def run_hooks(self, point: str, cwd: str, release_id: str, version: str | None) -> None:
        env = {
            "CONVEYOR_HOOK": point,
            "CONVEYOR_RELEASE_ID": release_id,
            "CONVEYOR_RELEASE_PATH": cwd,
            "CONVEYOR_VERSION": version or "",
            "CONVEYOR_DEPLOY_ROOT": self.layout.root,
            "CONVEYOR_PREVIOUS_RELEASE": self.result.get("previous_release") or "",
        }
        for argv in self.hooks.get(point) or []:
            outcome = run(argv, cwd=cwd, env=env, timeout=int(self.params.get("hook_timeout") or 300))
            if outcome.rc != 0:
                last = outcome.tail[-1] if outcome.tail else ""
                raise RolloutError(
                    f"{point} hook {argv[0]} exited with {outcome.rc}" + (f": {last}" if last else ""),
                    hook=point,
                    output_tail=outcome.tail,
                )

    def link_shared(self, release_dir: str) -> None:
        for path in self.shared_paths:
            is_dir = path.endswith("/")
            rel = os.path.normpath(path.rstrip("/"))
            source = os.path.join(self.layout.shared, rel)
            if is_dir:
                os.makedirs(source, exist_ok=True)
            elif not os.path.lexists(source):
                raise ConfigurationError(
                    f"shared file {source} does not exist: create it before deploying (directories end with '/')"
                )
            target = os.path.join(release_dir, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            elif os.path.lexists(target):
                os.unlink(target)
            os.symlink(source, target)

    def build_env(self, release_id: str) -> None:
        """The release's Python environment, complete (or, in check mode, whether it would be built)."""
        if self.python_env is None:
            return
        release_dir = self.layout.release(release_id)
        if self.check_mode and not os.path.isdir(release_dir):
            venv = self.python_env.paths(release_dir)[0]
            self.result["python_env"] = {"path": venv, "built": True}
            return
        try:
            self.result["python_env"] = self.python_env.ensure(release_dir, check_mode=self.check_mode)
        except ConveyorError as exc:
            raise RolloutError(
                f"the Python environment of release {release_id} could not be built: {exc.msg}", **exc.details
            ) from exc

    def env_complete(self, release_id: str) -> bool:
        return self.python_env is None or self.python_env.complete(self.layout.release(release_id))

    @staticmethod
    def log_hint(service) -> dict:
        """The service's own error line (for a failed health check): a message suffix and the detail."""
        line = service.last_log_line()
        return {"suffix": f"; service log: {line}" if line else "", "service_log": line}

    def health(self, release_id: str, version: str | None, service=None) -> dict:
        """The health check of a release; with the ``service`` just (re)started, a service whose process has
        exited ends the check at once (its log line says why), instead of after every retry."""
        if self.health_spec is None:
            return health_check(None)
        spec = substitute(self.health_spec, self.values(release_id, version))
        gone = service.exited if service is not None else None
        return health_check(spec, cwd=self.layout.release(release_id), gone=gone)

    def finish(self, state: dict) -> dict:
        self.result["current_release"] = current_release(self.layout)
        self.result["releases"] = release_summary(state)
        if self.want_diff and self._before is not None:
            add_diff(self.result, compare(self._before, render_view(*self._predicted(state)), self.layout.root), True)
        return self.result

    def _predicted(self, state: dict) -> tuple[str | None, dict]:
        """What ``current`` and the statuses are after this run: as they are, or in check mode as they would be."""
        current = current_release(self.layout)
        statuses = {item["id"]: item["status"] for item in ordered(state)}
        if self.check_mode and self.result["switched"]:
            target = self.result["release_id"]
            for release_id, status in statuses.items():
                if status == "active" and release_id != target:
                    statuses[release_id] = "rolled_back" if self.result["rolled_back"] else "previous"
            statuses[target] = "active"
            current = target
        return current, statuses

    def prune(self, state: dict) -> None:
        current, statuses = self._predicted(state)  # in check mode: as the switch would leave them
        planned = dict(state, releases=[dict(item, status=statuses[item["id"]]) for item in state["releases"]])
        doomed = plan_prune(planned, self.keep, self.keep_failed, self.protect, current)
        self.result["pruned"] = doomed
        if not doomed:
            return
        self.result["changed"] = True
        if self.check_mode:
            state["releases"] = [item for item in state["releases"] if item["id"] not in doomed]
            return
        for release_id in doomed:
            os.makedirs(self.layout.trash, exist_ok=True)
            doomed_dir = tempfile.mkdtemp(prefix=f"{release_id}.", dir=self.layout.trash)
            os.rename(self.layout.release(release_id), os.path.join(doomed_dir, release_id))
            state["releases"] = [item for item in state["releases"] if item["id"] != release_id]
            write_state(self.layout, state)
            shutil.rmtree(doomed_dir, ignore_errors=True)

    def load(self) -> dict:
        if not self.check_mode:
            self.layout.ensure()
        found = read_state(self.layout)
        if self.want_diff:
            self._before = render_view(
                current_release(self.layout), {item["id"]: item["status"] for item in ordered(found)}
            )
        state, notes = repair(self.layout, found, self.check_mode)
        self.result["repaired"] = notes
        if notes:
            self.result["changed"] = True
            if not self.check_mode:
                write_state(self.layout, state)
        return state

    def lock(self):
        if self.check_mode and not os.path.isdir(self.layout.root):
            return contextlib.nullcontext()
        return locked(self.layout, float(self.params.get("lock_timeout") or 600))

    # -- state: present
    def deploy(self) -> dict:
        source = ArtifactSource(self.params)
        with self.lock():
            state = self.load()
            sha256 = source.expected_sha256()
            version = self.params.get("version")
            release_id = check_release_id(self.params.get("release_id") or make_release_id(version, sha256))
            self.result["release_id"] = release_id
            live = current_release(self.layout)
            self.result["previous_release"] = live
            record = entry(state, release_id)
            if record and record.get("sha256") and record["sha256"] != sha256:
                raise ConfigurationError(
                    f"release {release_id} exists with another artifact (sha256 {record['sha256'][:12]}...): "
                    "give a new release_id or version"
                )
            if record and live == release_id and record["status"] == "active":
                self._converge_active(state, release_id, record.get("version") or version)
            else:
                self._roll_out(state, source, release_id, version, sha256, record, live)
            self.prune(state)
            return self.finish(state)

    def _converge_active(self, state: dict, release_id: str, version) -> None:
        """The release is already current: restart only when the service is down or unhealthy."""
        service = self.service(release_id, version)
        changed_unit = service.prepare(self.layout.release(release_id), check_mode=True)
        env_ready = self.env_complete(release_id)
        healthy = service.running() and not changed_unit and env_ready
        if healthy:
            report = self.health(release_id, version)
            self.result["health"] = report
            healthy = report["ok"]
        if healthy:
            return
        self.result["changed"] = True
        self.result["restarted"] = True
        if self.check_mode:
            if not env_ready:
                self.build_env(release_id)
            return
        if not env_ready:
            self.build_env(release_id)
        service.prepare(self.layout.release(release_id))
        service.restart(self.layout.release(release_id))
        report = self.health(release_id, version, service)
        self.result["health"] = report
        if not report["ok"]:
            hint = self.log_hint(service)
            raise RolloutError(
                f"release {release_id} is current but unhealthy after a restart ({report['reason']}){hint['suffix']}; "
                "roll back with state=rolled_back",
                service_log=hint["service_log"],
                **self.finish(state),
            )

    def _roll_out(self, state, source, release_id, version, sha256, record, live) -> None:
        self.result["changed"] = True
        self.result["switched"] = True
        self.result["restarted"] = ((self.params.get("service") or {}).get("manager") or "none") != "none"
        release_dir = self.layout.release(release_id)
        if self.check_mode:
            self.result["unpacked"] = not os.path.isdir(release_dir)
            self.build_env(release_id)
            if record is None:
                state["releases"].append({"id": release_id, "version": version, "sha256": sha256, "status": "pending"})
                state["releases"][-1]["seq"] = _next_seq(state)
            return
        if not os.path.isdir(release_dir):
            self._unpack(state, source, release_id, version, sha256)
            self.result["unpacked"] = True
        else:
            self.result["unpacked"] = False
        record = entry(state, release_id)
        record.update(status="pending", deployed_at=now(), seq=_next_seq(state), version=version or record["version"])
        write_state(self.layout, state)
        try:
            self.build_env(release_id)  # at the release's final path: what its scripts name
            self.run_hooks("before_switch", release_dir, release_id, version)
            point_current(self.layout, release_id)
            self._switched = True
            self.run_hooks("after_switch", release_dir, release_id, version)
            service = self.service(release_id, version)
            service.prepare(release_dir)
            service.restart(release_dir)
            report = self.health(release_id, version, service)
            self.result["health"] = report
            if not report["ok"]:
                hint = self.log_hint(service)
                raise RolloutError(
                    f"health check of release {release_id} failed after {report['attempts']} attempts "
                    f"({report['reason']}){hint['suffix']}",
                    service_log=hint["service_log"],
                )
            self.run_hooks("after_health", release_dir, release_id, version)
        except ConveyorError as exc:
            self._undo(state, release_id, live, exc)
        for item in state["releases"]:
            if item["status"] == "active":
                item["status"] = "previous"
        record["status"] = "active"
        state["last_rollback"] = None
        write_state(self.layout, state)

    def _unpack(self, state, source, release_id, version, sha256) -> None:
        staged = os.path.join(self.layout.staging, release_id)
        os.makedirs(self.layout.staging, exist_ok=True)
        try:
            artifact = source.fetch(os.path.join(self.layout.staging, "download"))
            if sha256_file(artifact) != sha256:
                raise ConveyorError(f"artifact {artifact} changed while it was deployed; run again")
            safe_unpack(artifact, staged)
            self.link_shared(staged)
            self.run_hooks("after_unpack", staged, release_id, version)
        except BaseException:
            shutil.rmtree(self.layout.staging, ignore_errors=True)
            raise
        record = entry(state, release_id)
        if record is None:
            record = {"id": release_id, "version": version, "sha256": sha256, "deployed_at": now()}
            state["releases"].append(record)
        record.update(status="pending", seq=_next_seq(state))
        write_state(self.layout, state)
        os.rename(staged, self.layout.release(release_id))
        fsync_dir(self.layout.releases)
        shutil.rmtree(self.layout.staging, ignore_errors=True)

    def _undo(self, state: dict, release_id: str, live: str | None, error: ConveyorError) -> None:
        """Put back what was serving before, mark the new release failed, and fail."""
        record = entry(state, release_id)
        record["status"] = "failed"
        restore = live if live and live != release_id else previous_good(state, release_id)
        note = "no previous release to go back to"
        if restore and not self.params.get("rollback_on_failure", True):
            restore, note = None, "left in place (rollback_on_failure is false)"
        if restore and not self._switched and current_release(self.layout) == restore:
            write_state(self.layout, state)  # failed before the switch: the old release never stopped serving
            self.result.update(switched=False, restarted=False)
            note = f"{restore} is still serving"
        elif restore:
            previous = entry(state, restore)
            point_current(self.layout, restore)
            for item in state["releases"]:
                if item["status"] == "active" and item["id"] != restore:
                    item["status"] = "previous"
            previous["status"] = "active"
            write_state(self.layout, state)
            service = self.service(restore, previous.get("version"))
            service.restart(self.layout.release(restore))
            report = self.health(restore, previous.get("version"), service)
            self.result.update(rolled_back=True, rollback_health=report)
            note = f"rolled back to {restore}" + (
                "" if report["ok"] else f", which is unhealthy too ({report['reason']})"
            )
        else:
            write_state(self.layout, state)
            if not restore and os.path.islink(self.layout.current) and not live:
                self.service(release_id, record.get("version")).stop()
                os.unlink(self.layout.current)
                note += ": stopped the service and removed current"
        details = {k: v for k, v in self.finish(state).items() if k != "changed"}
        details.update(getattr(error, "details", {}) or {})
        raise RolloutError(f"{error.msg}; {note}", changed=True, **details) from error

    # -- state: rolled_back
    def rollback(self) -> dict:
        with self.lock():
            state = self.load()
            live = current_release(self.layout)
            self.result["previous_release"] = live
            wanted = self.params.get("rollback_to")
            last = state.get("last_rollback") or {}
            if not wanted and live and last.get("to") == live:
                self.result["release_id"] = live  # already rolled back; another run must name rollback_to
                self.prune(state)
                return self.finish(state)
            target = check_release_id(wanted) if wanted else previous_good(state, live)
            if not target:
                raise RolloutError(f"no previous good release in {self.layout.root} to roll back to")
            record = entry(state, target)
            if record is None:
                known = ", ".join(item["id"] for item in ordered(state)) or "none"
                raise ConfigurationError(f"release {target} is not in {self.layout.root} (releases: {known})")
            self.result["release_id"] = target
            if target == live and record["status"] == "active":
                self._converge_active(state, target, record.get("version"))
                self.prune(state)
                return self.finish(state)
            self.result.update(changed=True, switched=True, rolled_back=True)
            if self.check_mode:
                return self.finish(state)
            point_current(self.layout, target)
            for item in state["releases"]:
                if item["id"] == live:
                    item["status"] = "rolled_back"
            record.update(status="active", seq=_next_seq(state))
            state["last_rollback"] = {"from": live, "to": target, "at": now()}
            write_state(self.layout, state)
            service = self.service(target, record.get("version"))
            service.prepare(self.layout.release(target))
            service.restart(self.layout.release(target))
            self.result["restarted"] = service.manager != "none"
            report = self.health(target, record.get("version"), service)
            self.result["health"] = report
            if not report["ok"]:
                hint = self.log_hint(service)
                raise RolloutError(
                    f"rolled back to {target}, but its health check fails ({report['reason']}){hint['suffix']}",
                    service_log=hint["service_log"],
                    **self.finish(state),
                )
            self.prune(state)
            return self.finish(state)

    # -- state: absent
    def remove(self) -> dict:
        release_id = self.params.get("release_id")
        if not release_id:
            raise ConfigurationError("state=absent needs release_id (the release to remove)")
        check_release_id(release_id)
        with self.lock():
            state = self.load()
            self.result["release_id"] = release_id
            if current_release(self.layout) == release_id:
                raise ConfigurationError(f"release {release_id} is current: deploy or roll back to another one first")
            if entry(state, release_id) is not None or os.path.isdir(self.layout.release(release_id)):
                self.result["changed"] = True
                self.result["pruned"] = [release_id]
                state["releases"] = [item for item in state["releases"] if item["id"] != release_id]
                if not self.check_mode:
                    if os.path.isdir(self.layout.release(release_id)):
                        _remove_tree(self.layout, release_id)
                    write_state(self.layout, state)
            return self.finish(state)


def deploy_record(params: dict, result: dict) -> dict | None:
    """The ``conveyor_deploy`` entry that the pipeline_events callback records, when ``record`` was given."""
    record = params.get("record")
    if isinstance(record, dict):  # the module's spec gives every key; the ones left out are None
        record = {key: value for key, value in record.items() if value is not None}
    if not record:
        return None
    if not isinstance(record, dict) or not record.get("environment"):
        raise ConfigurationError("record must be a dict with at least 'environment', e.g. {environment: production}")
    allowed = {"environment", "version", "commit", "commit_time"}
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise ConfigurationError(f"record has unknown keys {unknown}: allowed are {', '.join(sorted(allowed))}")
    state = params.get("state") or "present"
    out = {key: record.get(key) for key in sorted(allowed)}
    out["version"] = out["version"] or params.get("version") or result.get("version")
    if not out["version"] and state == "rolled_back":  # the version of the release it went back to
        target = result.get("release_id")
        out["version"] = next((r.get("version") for r in result.get("releases") or () if r.get("id") == target), None)
    out["action"] = "rollback" if state == "rolled_back" else ("remove" if state == "absent" else "deploy")
    return out


def rollout(params: dict, check_mode: bool = False, want_diff: bool = False) -> dict:
    state = params.get("state") or "present"
    if state not in ("present", "rolled_back", "absent"):
        raise ConfigurationError(f"unknown state {state!r}: use present, rolled_back or absent")
    deploy_record(params, {})  # validate before anything runs
    engine = Rollout(params, check_mode=check_mode, want_diff=want_diff)
    action = {"present": engine.deploy, "rolled_back": engine.rollback, "absent": engine.remove}[state]
    try:
        try:
            result = action()
        except OSError as exc:  # a full disk, a read-only mount, a permission: name the path and the operation
            verb = {"present": "deploy", "rolled_back": "roll back", "absent": "remove a release"}[state]
            path = f"{exc.filename}: " if exc.filename else ""
            raise RolloutError(
                f"could not {verb} in {engine.layout.root}: {path}{exc.strerror or exc}", changed=True
            ) from exc
    except ConveyorError as exc:
        record = deploy_record(params, exc.details)
        if record:
            exc.details["conveyor_deploy"] = record
        raise
    record = deploy_record(params, result)
    if record:
        result["conveyor_deploy"] = record
    return result
