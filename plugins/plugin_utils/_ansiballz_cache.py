# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep ansible-core's built module payloads from one run to the next.

Before a module runs, Ansible assembles its AnsiballZ payload: it walks the module's imports, reads
every ``module_utils`` file it needs and zips them. That takes 0.1-0.15 s per module on 2 cores and is
cached only for the current run (in the run's private local temporary directory), so every run pays
it again for each module it uses: about 1 s for a pipeline that uses file, stat, copy, command, slurp
and uri.

This keeps the payloads of ansible-core's own modules (``ansible.modules.*``) in a store beside the
runs' temporary directories (``<local_tmp>/conveyor-ansiballz/<key>``), and copies them into a new
run's cache before its first module is built:

- The store key covers the ansible-core version, where it is installed and the Python version.
- Each stored payload lists the size and modification time of every source file in it; a payload
  whose sources changed (ansible-core edited in place) is dropped instead of restored.
- Only ansible-core's own modules are kept: their sources never change without one of the above.
  Collection and ``library/`` modules, whose sources change while one works on them, are built by
  Ansible every run as before.

Every step is best-effort: anything unexpected leaves Ansible to build the payload itself.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import pickle
import stat
import sys
import zipfile

import ansible
from ansible import constants as C

from ansible_collections.conveyor.cicd.plugins.module_utils._files import atomic_write_bytes

_PREFIX = "ansible.modules."
_STORE = "conveyor-ansiballz"
_RESTORED_MARK = ".conveyor-restored"
_SITE = os.path.dirname(os.path.dirname(os.path.realpath(ansible.__file__)))


def run_cache_dir() -> str:
    """Where ansible-core caches built payloads for this run (see executor/module_common.py)."""
    return os.path.join(C.DEFAULT_LOCAL_TMP, "ansiballz_cache")


def store_dir() -> str:
    key = hashlib.sha256(f"{ansible.__version__}\0{_SITE}\0{sys.version}".encode()).hexdigest()[:16]
    return os.path.join(os.path.dirname(C.DEFAULT_LOCAL_TMP), _STORE, key)


def _private(path: str) -> bool:
    """True for a real directory or file owned by this user that no one else can write to.

    The store holds pickled payloads that Ansible unpickles, so a store another user could plant files
    in (``local_tmp`` set to a shared directory such as /tmp) is never used.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        st.st_uid == os.getuid() and not st.st_mode & 0o022 and (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode))
    )


def _store_ready(store: str) -> bool:
    return _private(os.path.dirname(store)) and _private(store)


def _entries(directory: str) -> list[str]:
    """Names of complete payloads of ansible-core modules in ``directory``."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [n for n in names if n.startswith(_PREFIX) and not n.endswith((".lock", "-part", ".sources.json"))]


def _stamp(path: str) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


def _sources(payload: bytes) -> dict | None:
    """{source path: [size, mtime_ns]} of every file in a pickled payload, None when one is not ansible-core's."""
    # written by this run's ansible-core into its private cache; Ansible itself loads it the same way
    cached = pickle.loads(payload)  # noqa: S301
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(cached.zip_data))) as archive:
        names = archive.namelist()
    sources = {}
    for name in names:
        if not name.startswith("ansible/") or ".." in name.split("/"):
            return None
        path = os.path.join(_SITE, name)
        if not os.path.isfile(path):
            return None
        sources[name] = _stamp(path)
    return sources


def _fresh(store: str, name: str) -> bytes | None:
    """The stored payload ``name`` when all its sources are unchanged, else None (and it is dropped)."""
    try:
        with open(os.path.join(store, f"{name}.sources.json"), encoding="utf-8") as handle:
            sources = json.load(handle)
        if not (_private(os.path.join(store, name)) and _private(os.path.join(store, f"{name}.sources.json"))):
            raise ValueError(name)
        for source, stamp in sources.items():
            if _stamp(os.path.join(_SITE, source)) != stamp:
                raise ValueError(source)
        with open(os.path.join(store, name), "rb") as handle:
            return handle.read()
    except (OSError, ValueError, TypeError, AttributeError):
        for stale in (name, f"{name}.sources.json"):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(store, stale))
        return None


def restore() -> int:
    """Copy the stored payloads into this run's cache once per run; returns how many were copied."""
    try:
        cache = run_cache_dir()
        os.makedirs(cache, exist_ok=True)
        try:
            os.close(os.open(os.path.join(cache, _RESTORED_MARK), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return 0  # another worker of this run did it
        store = store_dir()
        if not _store_ready(store):
            return 0
        copied = 0
        for name in _entries(store):
            if os.path.exists(os.path.join(cache, name)):
                continue
            payload = _fresh(store, name)
            if payload is not None:
                atomic_write_bytes(os.path.join(cache, name), payload, mode=0o600)
                copied += 1
        return copied
    except Exception:  # best-effort: Ansible builds what is missing
        return 0


def keep(module_fqn: str) -> bool:
    """Store this run's payload(s) of ``module_fqn`` when the store has none yet; True when one was stored."""
    if not module_fqn.startswith(_PREFIX):
        return False
    try:
        cache, store = run_cache_dir(), store_dir()
        stored = False
        for name in _entries(cache):
            if not name.startswith(f"{module_fqn}-") or os.path.exists(os.path.join(store, name)):
                continue
            with open(os.path.join(cache, name), "rb") as handle:
                payload = handle.read()
            sources = _sources(payload)
            if sources is None:
                continue
            for directory in (os.path.dirname(store), store):
                os.makedirs(directory, mode=0o700, exist_ok=True)
            if not _store_ready(store):
                return False
            sources_json = json.dumps(sources, sort_keys=True).encode()
            atomic_write_bytes(os.path.join(store, f"{name}.sources.json"), sources_json, mode=0o600)
            atomic_write_bytes(os.path.join(store, name), payload, mode=0o600)
            stored = True
        return stored
    except Exception:  # best-effort: the next run builds the payload again
        return False
