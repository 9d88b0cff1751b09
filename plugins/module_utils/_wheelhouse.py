# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python applications with dependencies: a wheelhouse built in CI, an environment built from it offline.

``build_wheelhouse`` (module ``conveyor.cicd.wheelhouse``) runs ``python -m pip wheel`` so that one directory
holds the application's wheel and a wheel of every dependency. The directory is built beside its final place
and renamed into it, with a record (``.wheelhouse.json``: the key of the inputs, every wheel with sha256 and
size), so a second run with the same inputs changes nothing and a killed run leaves the old wheelhouse whole.

``PythonEnv`` (``app_rollout`` ``python_env``) creates a virtual environment at its final path inside a
release and installs the wheelhouse into it with ``--no-index``: the host needs no package index. A marker
file written last says the environment is complete; an environment without it (a killed run) is removed
and built again.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import atomic_write_json, current_umask, fsync_dir
from ansible_collections.conveyor.cicd.plugins.module_utils._cache import cache_key
from ansible_collections.conveyor.cicd.plugins.module_utils._digest import file_record, files_digest, sha256_file
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._files import read_json, select_files
from ansible_collections.conveyor.cicd.plugins.module_utils._process import run

RECORD = ".wheelhouse.json"
ENV_MARKER = ".conveyor-env.json"
# what a project directory's digest leaves out: outputs and tool state, never sources
PROJECT_EXCLUDE = [
    ".git/**",
    "**/__pycache__/**",
    "**/*.pyc",
    ".venv/**",
    "build/**",
    "dist/**",
    "*.egg-info/**",
    "**/*.egg-info/**",
    ".tox/**",
    ".nox/**",
    ".pytest_cache/**",
    ".ruff_cache/**",
    ".mypy_cache/**",
]
# no version check, no prompt; in CI pip's configuration (the index to use, its credentials) applies
PIP_ENV = {"PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
# on a host, the arguments alone decide: no user or site configuration can add an index
OFFLINE_ENV = dict(PIP_ENV, PIP_CONFIG_FILE=os.devnull)
_ERROR = re.compile(r"^(?:ERROR|error|FATAL|fatal)\b|^[\w.]*(?:Error|Exception)\b(?::|$)")
LINE_MAX = 300


def error_line(tail: list[str]) -> str:
    """The line of a tool's output that names what failed (the last error line, else the last line)."""
    lines = [line.strip() for line in tail if line.strip()]
    found = next((line for line in reversed(lines) if _ERROR.search(line)), lines[-1] if lines else "(no output)")
    return found if len(found) <= LINE_MAX else found[: LINE_MAX - 3] + "..."


def interpreter(python: str | None) -> str:
    """The Python to run: ``python`` (a path, or a name on PATH), else the one running this code."""
    if not python:
        return sys.executable
    if os.sep in python:
        if not (os.path.isfile(python) and os.access(python, os.X_OK)):
            raise ConfigurationError(f"python {python} does not exist or is not executable")
        return python
    found = shutil.which(python)
    if not found:
        raise ConfigurationError(f"python {python!r} was not found on PATH: give its full path")
    return found


def wheels_in(directory: str) -> list[dict]:
    """Every wheel in ``directory`` with name, sha256 and size, by name."""
    return [
        dict(file_record(os.path.join(directory, name), directory), name=name)
        for name in sorted(os.listdir(directory))
        if name.endswith(".whl") and os.path.isfile(os.path.join(directory, name))
    ]


def _wheel_list(records: list[dict]) -> list[dict]:
    return [{"name": item["name"], "sha256": item["sha256"], "size": item["size"]} for item in records]


# --- CI: the wheelhouse ------------------------------------------------------------------------------
def _source_digest(src: str) -> dict:
    if os.path.isfile(src):
        if not src.endswith((".whl", ".tar.gz", ".zip")):
            raise ConfigurationError(
                f"src {src} is not a wheel or an sdist: give the built wheel or the project directory"
            )
        return {"file": os.path.basename(src), "sha256": sha256_file(src)}
    if os.path.isdir(src):
        if not any(os.path.isfile(os.path.join(src, name)) for name in ("pyproject.toml", "setup.py", "setup.cfg")):
            raise ConfigurationError(
                f"src {src} has no pyproject.toml, setup.py or setup.cfg: it is not a Python project"
            )
        files = select_files(src, None, PROJECT_EXCLUDE)
        return {"tree": files_digest(src, files), "files": len(files)}
    raise ConfigurationError(
        f"src {src} does not exist: build the application's wheel first, or give its project directory"
    )


def _links_digest(find_links: list[str]) -> list:
    """A local --find-links directory is an input too: the names and sizes of what it offers."""
    out = []
    for link in find_links:
        path = link[len("file://") :] if link.startswith("file://") else link
        if os.path.isdir(path):
            out.append([link, [[n, os.path.getsize(os.path.join(path, n))] for n in sorted(os.listdir(path))]])
        else:
            out.append([link, None])
    return out


def _record_matches(dest: str, record, key: str) -> bool:
    if not isinstance(record, dict) or record.get("key") != key or not isinstance(record.get("wheels"), list):
        return False
    on_disk = {name for name in os.listdir(dest) if name.endswith(".whl")}
    if on_disk != {item.get("name") for item in record["wheels"]}:
        return False
    for item in record["wheels"]:
        path = os.path.join(dest, item["name"])
        if os.path.getsize(path) != item.get("size") or sha256_file(path) != item.get("sha256"):
            return False
    return True


def build_wheelhouse(
    dest: str,
    src: str,
    requirements=None,
    find_links=None,
    no_index: bool = False,
    build_isolation: bool = True,
    python: str | None = None,
    timeout: float | None = None,
    check_mode: bool = False,
) -> dict:
    """``python -m pip wheel --wheel-dir <dest> <src> [-r <file>]...``: the app's wheel plus every dependency."""
    started = time.monotonic()
    if not dest or not os.path.isabs(dest):
        raise ConfigurationError(f"dest {dest!r} must be an absolute path")
    if not src or not os.path.isabs(src):
        raise ConfigurationError(f"src {src!r} must be an absolute path")
    if timeout is not None and timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout}")
    dest = os.path.normpath(dest)
    requirements = list(requirements or [])
    find_links = [str(link) for link in (find_links or [])]
    for path in requirements:
        if not os.path.isfile(path):
            raise ConfigurationError(f"requirements file {path} does not exist")
    python = interpreter(python)
    key = cache_key(
        "wheelhouse",
        src=_source_digest(src),
        requirements=[[os.path.basename(path), sha256_file(path)] for path in requirements],
        find_links=_links_digest(find_links),
        no_index=bool(no_index),
        build_isolation=bool(build_isolation),
        python=python,
    )
    result = {"dest": dest, "cache_key": key, "changed": False, "wheels": [], "duration": 0.0}
    record = read_json(os.path.join(dest, RECORD)) if os.path.isdir(dest) else None
    if os.path.isdir(dest) and _record_matches(dest, record, key):
        return dict(result, wheels=_wheel_list(record["wheels"]), duration=round(time.monotonic() - started, 3))
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ConfigurationError(f"dest {dest} exists and is not a directory")
    result["changed"] = True
    if check_mode:
        return result

    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.tmp-", dir=parent)
    try:
        argv = [python, "-m", "pip", "wheel", "--wheel-dir", tmp]
        if no_index:
            argv.append("--no-index")
        for link in find_links:
            argv += ["--find-links", link]
        if not build_isolation:
            argv.append("--no-build-isolation")
        argv.append(src)
        for path in requirements:
            argv += ["-r", path]
        proc = run(argv, cwd=parent, env=PIP_ENV, timeout=timeout)
        if proc.timed_out:
            raise CommandError(f"pip wheel did not finish within {timeout} seconds and was killed", log_tail=proc.tail)
        if proc.rc != 0:
            raise CommandError(
                f"pip wheel failed with exit code {proc.rc}: {error_line(proc.tail)}",
                exit_code=proc.rc,
                log_tail=proc.tail,
            )
        wheels = wheels_in(tmp)
        if not wheels:
            raise CommandError(f"pip wheel succeeded but {src} gave no wheel", log_tail=proc.tail)
        for name in os.listdir(tmp):  # only wheels are shipped
            if not name.endswith(".whl"):
                path = os.path.join(tmp, name)
                shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        atomic_write_json(os.path.join(tmp, RECORD), {"key": key, "wheels": _wheel_list(wheels)}, 0o644)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp made it private
        _replace_dir(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dict(result, wheels=_wheel_list(wheels), duration=round(time.monotonic() - started, 3))


def _replace_dir(new: str, dest: str) -> None:
    """Put ``new`` in the place of ``dest``: the old one moves aside in one rename, the new one in in another."""
    parent = os.path.dirname(dest)
    aside = None
    if os.path.isdir(dest):
        aside = tempfile.mkdtemp(prefix=f".{os.path.basename(dest)}.old-", dir=parent)
        os.rename(dest, os.path.join(aside, "old"))
    os.rename(new, dest)
    fsync_dir(parent)
    if aside:
        shutil.rmtree(aside, ignore_errors=True)


# --- the host: an environment from the wheelhouse, offline ---------------------------------------------
class PythonEnv:
    """A virtual environment at ``<release>/<path>`` from ``<release>/<wheelhouse>``, with no package index."""

    DEFAULTS = {"wheelhouse": "wheelhouse", "path": ".venv", "python": None, "requirements": None, "timeout": 600}

    def __init__(self, spec: dict):
        merged = dict(self.DEFAULTS)
        merged.update({k: v for k, v in (spec or {}).items() if v is not None})
        unknown = sorted(set(merged) - set(self.DEFAULTS))
        if unknown:
            raise ConfigurationError(f"python_env has unknown keys {unknown}: use {', '.join(self.DEFAULTS)}")
        for key in ("wheelhouse", "path"):
            merged[key] = self._relative(key, merged[key])
        requirements = merged["requirements"]
        if requirements is not None:
            if isinstance(requirements, str) or not isinstance(requirements, list) or not requirements:
                raise ConfigurationError("python_env.requirements must be a non-empty list, such as [myapp]")
            for item in requirements:
                if not isinstance(item, str) or not item.strip() or item.startswith("-"):
                    raise ConfigurationError(
                        f"python_env.requirements item {item!r} must be a requirement (myapp[extra]) "
                        "or a requirements file in the release, not an option"
                    )
        self.spec = merged

    @staticmethod
    def _relative(key: str, value) -> str:
        clean = os.path.normpath(str(value))
        if os.path.isabs(str(value)) or clean.startswith("..") or clean in (".", ""):
            raise ConfigurationError(f"python_env.{key} {value!r} must be a path inside the release, without '..'")
        return clean

    def paths(self, release_dir: str) -> tuple[str, str]:
        return os.path.join(release_dir, self.spec["path"]), os.path.join(release_dir, self.spec["wheelhouse"])

    def _wanted(self, release_dir: str) -> dict:
        """What the marker of a complete environment must say."""
        venv, wheelhouse = self.paths(release_dir)
        if not os.path.isdir(wheelhouse):
            raise ConfigurationError(
                f"the release has no {self.spec['wheelhouse']}/ directory: package the wheelhouse "
                "(conveyor.cicd.wheelhouse) into the artifact, or set python_env.wheelhouse"
            )
        wheels = [[name, os.path.getsize(os.path.join(wheelhouse, name))] for name in sorted(os.listdir(wheelhouse))]
        wheels = [item for item in wheels if item[0].endswith(".whl")]
        if not wheels:
            raise ConfigurationError(f"{self.spec['wheelhouse']}/ in the release holds no wheel")
        return {
            "python": interpreter(self.spec["python"]),
            "wheels": wheels,
            "requirements": self.spec["requirements"],
            "path": venv,
        }

    def complete(self, release_dir: str) -> bool:
        venv = self.paths(release_dir)[0]
        marker = read_json(os.path.join(venv, ENV_MARKER))
        return marker == self._wanted(release_dir)

    def ensure(self, release_dir: str, check_mode: bool = False) -> dict:
        """Build the environment unless it is complete; ``{path, built}``. Raises CommandError with pip's line."""
        venv, wheelhouse = self.paths(release_dir)
        wanted = self._wanted(release_dir)
        report = {"path": venv, "built": False, "python": wanted["python"], "wheels": len(wanted["wheels"])}
        if read_json(os.path.join(venv, ENV_MARKER)) == wanted:
            return report
        report["built"] = True
        if check_mode:
            return report
        if os.path.lexists(venv):  # half-made (a killed run) or made from other inputs: start again
            if os.path.isdir(venv) and not os.path.islink(venv):
                shutil.rmtree(venv)
            else:
                os.unlink(venv)
        timeout = float(self.spec["timeout"])
        self._run([wanted["python"], "-m", "venv", venv], release_dir, timeout, "python -m venv")
        argv = [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "--no-index", "--find-links", wheelhouse]
        if wanted["requirements"]:
            for item in wanted["requirements"]:
                path = os.path.join(release_dir, item)
                argv += ["-r", path] if os.path.isfile(path) else [item]
        else:
            argv += [os.path.join(wheelhouse, wheel[0]) for wheel in wanted["wheels"]]
        self._run(argv, release_dir, timeout, "pip install")
        atomic_write_json(os.path.join(venv, ENV_MARKER), wanted, 0o644)
        return report

    @staticmethod
    def _run(argv: list[str], cwd: str, timeout: float, what: str) -> None:
        proc = run(argv, cwd=cwd, env=OFFLINE_ENV, timeout=timeout)
        if proc.timed_out:
            raise CommandError(f"{what} did not finish within {timeout:.0f} seconds", log_tail=proc.tail)
        if proc.rc != 0:
            raise CommandError(
                f"{what} failed with exit code {proc.rc}: {error_line(proc.tail)}",
                exit_code=proc.rc,
                log_tail=proc.tail,
            )
