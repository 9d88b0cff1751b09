# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command (the pipeline) when the HEAD of a tracked git branch changes.

One invocation is one poll; a systemd timer or a cron entry calls it periodically.

    conveyor_poller.py --config /etc/conveyor/poller.json [--force]

Each poll prints one JSON line (and appends it to ``log_file`` when configured).

Exit codes:
    0  nothing to do, the command succeeded, or another run is in progress (skipped)
    1  the command failed or timed out
    2  the configuration is missing or invalid
    3  the repository could not be read or checked out

Credentials for an http(s) repository come from the userinfo of ``repo`` (``https://user:token@host/...``)
or from ``repo_token`` (and ``repo_user``). They reach git only through its environment: a credential
helper that prints two environment variables, set through ``GIT_CONFIG_*`` for that host alone. No git
command line, ``.git/config``, log line or state file ever holds them.

A commit is run once: the state file remembers the last commit started; a failed (or interrupted)
commit is started again on the next polls only while its attempts are below ``max_attempts``
(default 1: no automatic retry; push a new commit or call with ``--force``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import errno
import fcntl
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

EXIT_OK = 0
EXIT_COMMAND_FAILED = 1
EXIT_CONFIG = 2
EXIT_REPOSITORY = 3

DEFAULTS = {
    "branch": "main",
    "work_dir": "/var/lib/conveyor/trigger",
    "state_file": "",
    "lock_file": "",
    "log_file": "",
    "command_cwd": "",
    "env": {},
    "repo_user": "",
    "repo_token": "",
    "timeout": 3600,
    "git_timeout": 120,
    "max_attempts": 1,
    "keep_logs": 20,
}
REQUIRED = ("repo", "command")
SHA_RE = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?\Z")
BRANCH_RE = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]+\Z")
HTTP_SCHEMES = ("http", "https")
SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")
# git runs "!<helper> get|store|erase" through the shell; only "get" answers, from the environment (printf is
# a shell builtin, so the values never reach a command line)
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
    '"$CONVEYOR_GIT_USERNAME" "$CONVEYOR_GIT_PASSWORD"; }; f'
)


class PollerError(Exception):
    """A failure with a one-line message and the exit code it maps to."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")  # noqa: UP017 - hosts may run Python < 3.11


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(URL git may see, user, password) of ``url``: http(s) userinfo moves out of the URL; ssh keeps its user."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)$", url, re.DOTALL)
    if not match or "@" not in match.group(2):
        return url, None, None
    scheme, netloc, rest = match.groups()
    userinfo, _sep, hostport = netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if scheme.lower() in SSH_SCHEMES:
        if colon:
            raise ValueError("ssh URLs cannot carry a password: use an ssh key (or an http(s) URL with a token)")
        return url, None, None
    public = f"{scheme}://{hostport}{rest}"
    return public, urllib.parse.unquote(user), urllib.parse.unquote(password) if colon else ""


def mask(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def load_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except FileNotFoundError:
        raise PollerError(
            f"config file {path} does not exist; pass --config with the poller's JSON file", EXIT_CONFIG
        ) from None
    except (OSError, ValueError) as exc:
        raise PollerError(f"config file {path} is not readable JSON ({exc}); fix its syntax", EXIT_CONFIG) from None
    if not isinstance(raw, dict):
        raise PollerError(f"config file {path} must hold a JSON object", EXIT_CONFIG)
    unknown = sorted(set(raw) - set(DEFAULTS) - set(REQUIRED))
    if unknown:
        raise PollerError(f"config file {path}: unknown keys {', '.join(unknown)}", EXIT_CONFIG)
    missing = [key for key in REQUIRED if not raw.get(key)]
    if missing:
        raise PollerError(f"config file {path}: missing {', '.join(missing)}", EXIT_CONFIG)
    config = dict(DEFAULTS, **raw)
    command = config["command"]
    if not isinstance(command, list) or not all(isinstance(arg, str) and arg for arg in command):
        raise PollerError(f"config file {path}: command must be a list of non-empty strings (an argv)", EXIT_CONFIG)
    if not isinstance(config["repo"], str) or config["repo"].startswith("-"):
        raise PollerError(f"config file {path}: repo must be a git URL or a path", EXIT_CONFIG)
    for key in ("repo_user", "repo_token"):
        if not isinstance(config[key], str):
            raise PollerError(f"config file {path}: {key} must be a string", EXIT_CONFIG)
    config.update(credentials(config, path))
    if not isinstance(config["branch"], str) or not BRANCH_RE.match(config["branch"]):
        raise PollerError(f"config file {path}: branch {config['branch']!r} is not a valid branch name", EXIT_CONFIG)
    if not isinstance(config["env"], dict) or not all(isinstance(v, str) for v in config["env"].values()):
        raise PollerError(f"config file {path}: env must map names to strings", EXIT_CONFIG)
    for key in ("timeout", "git_timeout", "max_attempts", "keep_logs"):
        if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < 0:
            raise PollerError(f"config file {path}: {key} must be a non-negative integer", EXIT_CONFIG)
    work_dir = os.path.abspath(config["work_dir"])
    config["work_dir"] = work_dir
    config["state_file"] = config["state_file"] or os.path.join(work_dir, "state.json")
    config["lock_file"] = config["lock_file"] or os.path.join(work_dir, "poller.lock")
    return config


def credentials(config: dict, path: str) -> dict:
    """The URL git sees (``git_url``), and the user and password it gets through its environment."""
    try:
        url, user, password = split_credentials(config["repo"])
    except ValueError as exc:
        raise PollerError(f"config file {path}: repo: {exc}", EXIT_CONFIG) from None
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if config["repo_token"]:
        if scheme not in HTTP_SCHEMES:
            raise PollerError(
                f"config file {path}: repo_token needs an http(s) repo URL; ssh authenticates with keys", EXIT_CONFIG
            )
        if password:
            raise PollerError(
                f"config file {path}: give the token in repo_token or in the repo URL, not both", EXIT_CONFIG
            )
        user, password = config["repo_user"] or user or "git", config["repo_token"]
    elif config["repo_user"]:
        raise PollerError(f"config file {path}: repo_user is the user name for repo_token: set both", EXIT_CONFIG)
    if user is None:
        return {"git_url": url, "git_env": {}, "secrets": []}
    hostport = url.split("://", 1)[1].split("/", 1)[0]
    origin = f"{scheme}://{hostport}"
    return {
        "git_url": url,
        "git_env": {"CONVEYOR_GIT_USERNAME": user, "CONVEYOR_GIT_PASSWORD": password},
        "git_config": [(f"credential.{origin}.helper", ""), (f"credential.{origin}.helper", CREDENTIAL_HELPER)],
        # a user name alone in the URL (https://TOKEN@host) may be the token itself
        "secrets": [password or user],
    }


def remote_env(config: dict) -> dict:
    """What git needs in its environment to reach the repository: the credentials and the helper that gives them."""
    if not config["git_env"]:
        return {}
    env = dict(config["git_env"])
    # after any GIT_CONFIG_* of the caller's; the empty helper first drops the user's own helpers for this host,
    # so that none of them stores the token
    count = os.environ.get("GIT_CONFIG_COUNT", "")
    first = int(count) if count.isdigit() else 0
    for index, (key, value) in enumerate(config["git_config"], start=first):
        env[f"GIT_CONFIG_KEY_{index}"] = key
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    env["GIT_CONFIG_COUNT"] = str(first + len(config["git_config"]))
    return env


def git(args: list[str], timeout: int, cwd: str | None = None, remote: dict | None = None) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    for name in ("CONVEYOR_GIT_USERNAME", "CONVEYOR_GIT_PASSWORD"):
        env.pop(name, None)
    secrets = []
    if remote:
        env.update(remote_env(remote))
        secrets = remote["secrets"]
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout or None, check=False
        )
    except FileNotFoundError:
        raise PollerError("git is not installed; install git on this host", EXIT_REPOSITORY) from None
    except subprocess.TimeoutExpired:
        raise PollerError(f"git {args[0]} timed out after {timeout}s", EXIT_REPOSITORY) from None
    if proc.returncode != 0:
        detail = mask((proc.stderr.strip().splitlines() or ["no output"])[-1], secrets)
        raise PollerError(f"git {args[0]} failed: {detail}", EXIT_REPOSITORY)
    return proc.stdout


def remote_head(config: dict) -> str:
    """The commit the tracked branch points at, without fetching anything."""
    ref = f"refs/heads/{config['branch']}"
    out = git(["ls-remote", "--", config["git_url"], ref], config["git_timeout"], remote=config)
    for line in out.splitlines():
        sha, _sep, name = line.partition("\t")
        if name == ref and SHA_RE.match(sha):
            return sha
    raise PollerError(f"branch {config['branch']} does not exist in {config['git_url']}", EXIT_REPOSITORY)


def checkout(config: dict, sha: str) -> str:
    """Fetch the branch into the work tree, check out ``sha`` (ignored files such as caches stay), return it."""
    tree = os.path.join(config["work_dir"], "checkout")
    timeout = config["git_timeout"]
    if not os.path.isdir(os.path.join(tree, ".git")):
        os.makedirs(tree, exist_ok=True)
        git(["init", "--quiet", tree], timeout)
    ref = f"refs/remotes/origin/{config['branch']}"
    git(
        ["-C", tree, "fetch", "--quiet", "--force", "--", config["git_url"], f"+refs/heads/{config['branch']}:{ref}"],
        timeout,
        remote=config,
    )
    fetched = git(["-C", tree, "rev-parse", "--verify", ref], timeout).strip()
    target = sha
    try:
        git(["-C", tree, "cat-file", "-e", f"{sha}^{{commit}}"], timeout)
    except PollerError:
        target = fetched  # the branch moved between ls-remote and fetch: run what was fetched
    git(["-C", tree, "checkout", "--quiet", "--force", "--detach", target], timeout)
    git(["-C", tree, "clean", "-ffdq"], timeout)
    return target


def read_state(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
        return state if isinstance(state, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a damaged state file means "never ran"; the next run rewrites it


def write_state(path: str, state: dict) -> None:
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".state-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def decide(state: dict, head: str, max_attempts: int, force: bool) -> tuple[bool, int, str]:
    """(run?, attempt number, reason) for ``head`` given the previous state."""
    last = state.get("last_run") or {}
    if force:
        return True, (last.get("attempt", 0) + 1 if last.get("commit") == head else 1), "forced"
    if last.get("commit") != head:
        return True, 1, "new commit"
    status = last.get("status")
    if status == "running":
        status = "interrupted"  # the lock was free, so the process that started it is gone
    attempts = int(last.get("attempt", 1))
    if status in ("failed", "interrupted") and attempts < max_attempts:
        return True, attempts + 1, f"retry after {status}"
    return False, attempts, "no change" if status == "succeeded" else f"not retried after {status}"


def run_command(config: dict, tree: str, head: str, previous: str, log_path: str) -> tuple[int, bool]:
    env = dict(os.environ)
    env.update(config["env"])
    env.update(
        {
            "CONVEYOR_TRIGGER_COMMIT": head,
            "CONVEYOR_TRIGGER_PREVIOUS_COMMIT": previous,
            "CONVEYOR_TRIGGER_BRANCH": config["branch"],
            "CONVEYOR_TRIGGER_REPO": config["git_url"],
            "CONVEYOR_TRIGGER_CHECKOUT": tree,
        }
    )
    cwd = os.path.join(tree, config["command_cwd"]) if config["command_cwd"] else tree
    with open(log_path, "ab") as log:
        try:
            proc = subprocess.Popen(
                config["command"], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        except OSError as exc:
            log.write(f"cannot start {config['command'][0]}: {exc}\n".encode())
            return 127, False
        try:
            return proc.wait(timeout=config["timeout"] or None), False
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait()
            return -1, True


def prune_logs(log_dir: str, keep: int) -> None:
    if keep <= 0:
        return
    logs = sorted(name for name in os.listdir(log_dir) if name.endswith(".log"))
    for name in logs[:-keep]:
        with contextlib.suppress(OSError):
            os.remove(os.path.join(log_dir, name))


def emit(record: dict, log_file: str) -> None:
    line = json.dumps(record, sort_keys=True)
    print(line, flush=True)
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        with open(log_file, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def poll(config: dict, force: bool) -> tuple[dict, int]:
    record = {"ts": now_iso(), "repo": config["git_url"], "branch": config["branch"]}
    os.makedirs(config["work_dir"], exist_ok=True)
    lock = open(config["lock_file"], "a+")  # noqa: SIM115 - held for the whole poll, closed by the caller's exit
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            lock.close()
            return dict(record, event="busy", message="a run is in progress"), EXIT_OK
        raise
    try:
        state = read_state(config["state_file"])
        head = remote_head(config)
        last = state.get("last_run") or {}
        previous = last.get("commit", "")
        should_run, attempt, reason = decide(state, head, config["max_attempts"], force)
        record.update(head=head, previous=previous, reason=reason)
        if not should_run:
            return dict(record, event="no_change" if reason == "no change" else "skipped"), EXIT_OK

        head = checkout(config, head)
        tree = os.path.join(config["work_dir"], "checkout")
        record["head"] = head
        log_dir = os.path.join(config["work_dir"], "logs")
        os.makedirs(log_dir, exist_ok=True)
        started = now_iso()
        log_path = os.path.join(log_dir, f"{started.replace(':', '')}-{head[:12]}.log")
        run = {"commit": head, "attempt": attempt, "status": "running", "started": started, "log": log_path}
        state["last_run"] = run
        write_state(config["state_file"], state)

        began = time.monotonic()
        rc, timed_out = run_command(config, tree, head, previous, log_path)
        duration = round(time.monotonic() - began, 3)
        status = "succeeded" if rc == 0 else "failed"
        run.update(status=status, exit_code=rc, timed_out=timed_out, finished=now_iso(), duration=duration)
        if status == "succeeded":
            state["last_success"] = {"commit": head, "finished": run["finished"]}
        state["last_run"] = run
        write_state(config["state_file"], state)
        prune_logs(log_dir, config["keep_logs"])
        record.update(
            event="run",
            status=status,
            exit_code=rc,
            timed_out=timed_out,
            attempt=attempt,
            duration=duration,
            log=log_path,
        )
        return record, EXIT_OK if status == "succeeded" else EXIT_COMMAND_FAILED
    finally:
        lock.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the pipeline when the tracked branch's HEAD changes.")
    parser.add_argument("--config", required=True, help="the poller's JSON configuration file")
    parser.add_argument("--force", action="store_true", help="run even when the HEAD was already run")
    args = parser.parse_args(argv)
    log_file = ""
    try:
        config = load_config(args.config)
        log_file = config["log_file"]
        record, code = poll(config, args.force)
    except PollerError as exc:
        record, code = {"ts": now_iso(), "event": "error", "message": str(exc)}, exc.exit_code
    except OSError as exc:
        record = {"ts": now_iso(), "event": "error", "message": f"{exc.strerror}: {exc.filename or ''}".strip()}
        code = EXIT_CONFIG
    record["exit"] = code
    try:
        emit(record, log_file)
    except OSError as exc:
        print(json.dumps({"event": "error", "message": f"cannot write log file {log_file}: {exc.strerror}"}))
    return code


if __name__ == "__main__":
    sys.exit(main())
