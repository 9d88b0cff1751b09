"""The poller run directly against a local git repository: change detection, the lock, failures, bad config."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.git_http import git_recorder, start_git_http_server
from tests.support.paths import ROOT, require_binary

POLLER = ROOT / "roles" / "trigger" / "files" / "conveyor_poller.py"

# The stand-in pipeline: records argv, cwd and the trigger environment, then exits with $EXIT_WITH.
RECORDER = """
import json, os, sys, time
record = {"argv": sys.argv[1:], "cwd": os.getcwd(),
          "env": {k: v for k, v in os.environ.items() if k.startswith(("CONVEYOR_", "PIPELINE_"))}}
with open(os.environ["PIPELINE_RECORD"], "a") as handle:
    handle.write(json.dumps(record) + "\\n")
hold = os.environ.get("PIPELINE_HOLD")
if hold:
    open(hold + ".started", "w").close()
    while os.path.exists(hold):
        time.sleep(0.05)
sys.exit(int(os.environ.get("PIPELINE_EXIT", "0")))
"""


def git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid")
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


class Poller:
    def __init__(self, tmp: Path):
        require_binary("git", "the poller reads branches with git")
        self.tmp = tmp
        self.repo = tmp / "repo"
        self.repo.mkdir()
        git(self.repo, "init", "--quiet", "--initial-branch=main")
        (self.repo / "pipeline.yml").write_text("# v1\n")
        git(self.repo, "add", "pipeline.yml")
        git(self.repo, "commit", "--quiet", "-m", "first")
        self.record = tmp / "record.jsonl"
        self.recorder = tmp / "recorder.py"
        self.recorder.write_text(RECORDER)
        self.work = tmp / "work"
        self.log_file = tmp / "poller.log"
        self.config = tmp / "poller.json"
        self.write_config()

    def write_config(self, **overrides) -> None:
        config = {
            "repo": str(self.repo),
            "branch": "main",
            "work_dir": str(self.work),
            "log_file": str(self.log_file),
            "command": [sys.executable, str(self.recorder), "pipeline.yml", "-i", "inventories/local/hosts.yml"],
            "env": {"PIPELINE_RECORD": str(self.record)},
        }
        config.update(overrides)
        self.config.write_text(json.dumps(config))

    def commit(self, text: str) -> str:
        (self.repo / "pipeline.yml").write_text(f"# {text}\n")
        git(self.repo, "commit", "--quiet", "-am", text)
        return git(self.repo, "rev-parse", "HEAD")

    def head(self) -> str:
        return git(self.repo, "rev-parse", "HEAD")

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, str(POLLER), "--config", str(self.config), *extra]

    def poll(self, *extra: str, env: dict | None = None) -> tuple[int, dict]:
        proc = subprocess.run(
            self.argv(*extra),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=dict(os.environ, **(env or {})),
        )
        lines = proc.stdout.strip().splitlines()
        assert len(lines) == 1, f"expected one JSON line, got stdout={proc.stdout!r} stderr={proc.stderr!r}"
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc.returncode, json.loads(lines[0])

    def runs(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def state(self) -> dict:
        return json.loads((self.work / "state.json").read_text())


@pytest.fixture
def poller(tmp_path):
    return Poller(tmp_path)


def test_first_poll_runs_the_command_in_a_checkout_of_head(poller):
    rc, line = poller.poll()
    assert rc == 0
    assert line["event"] == "run" and line["status"] == "succeeded" and line["head"] == poller.head()
    runs = poller.runs()
    assert len(runs) == 1
    run = runs[0]
    assert run["argv"] == ["pipeline.yml", "-i", "inventories/local/hosts.yml"]
    assert run["cwd"] == str(poller.work / "checkout")
    assert run["env"]["CONVEYOR_TRIGGER_COMMIT"] == poller.head()
    assert run["env"]["CONVEYOR_TRIGGER_BRANCH"] == "main"
    assert run["env"]["CONVEYOR_TRIGGER_PREVIOUS_COMMIT"] == ""
    assert (poller.work / "checkout" / "pipeline.yml").read_text() == "# v1\n"
    assert poller.state()["last_success"]["commit"] == poller.head()


def test_no_change_means_no_run(poller):
    poller.poll()
    rc, line = poller.poll()
    assert rc == 0
    assert line["event"] == "no_change"
    assert len(poller.runs()) == 1


def test_new_commit_runs_once_with_the_new_tree_and_the_previous_commit(poller):
    poller.poll()
    first = poller.head()
    second = poller.commit("v2")
    rc, line = poller.poll()
    assert rc == 0 and line["event"] == "run" and line["head"] == second and line["previous"] == first
    runs = poller.runs()
    assert len(runs) == 2
    assert runs[1]["env"]["CONVEYOR_TRIGGER_COMMIT"] == second
    assert runs[1]["env"]["CONVEYOR_TRIGGER_PREVIOUS_COMMIT"] == first
    assert (poller.work / "checkout" / "pipeline.yml").read_text() == "# v2\n"
    assert poller.poll()[1]["event"] == "no_change"
    assert len(poller.runs()) == 2


def test_ignored_files_in_the_checkout_survive_a_new_commit(poller):
    (poller.repo / ".gitignore").write_text(".state/\n")
    git(poller.repo, "add", ".gitignore")
    git(poller.repo, "commit", "--quiet", "-m", "ignore state")
    poller.poll()
    cache = poller.work / "checkout" / ".state" / "cache"
    cache.parent.mkdir()
    cache.write_text("warm")
    stray = poller.work / "checkout" / "stray.txt"
    stray.write_text("untracked")
    poller.commit("v2")
    poller.poll()
    assert cache.read_text() == "warm"
    assert not stray.exists()


def test_second_poller_exits_quietly_while_a_run_is_in_progress(poller):
    hold = poller.tmp / "hold"
    hold.write_text("")
    first = subprocess.Popen(
        poller.argv(), stdout=subprocess.PIPE, text=True, env=dict(os.environ, PIPELINE_HOLD=str(hold))
    )
    try:
        deadline = time.monotonic() + 30
        while not Path(str(hold) + ".started").exists():
            assert time.monotonic() < deadline, "the first run never started"
            assert first.poll() is None, "the first poller exited early"
            time.sleep(0.05)
        poller.commit("v2")  # even a new commit must not start a second, overlapping run
        rc, line = poller.poll()
        assert rc == 0
        assert line["event"] == "busy" and line["message"] == "a run is in progress"
        assert len(poller.runs()) == 1
    finally:
        hold.unlink(missing_ok=True)
        out, _unused = first.communicate(timeout=30)
    assert first.returncode == 0 and json.loads(out)["event"] == "run"
    # the commit pushed during the run is picked up by the next poll
    rc, line = poller.poll()
    assert rc == 0 and line["event"] == "run" and line["head"] == poller.head()
    assert len(poller.runs()) == 2


def test_lock_held_by_another_process_blocks_the_poll(poller):
    poller.work.mkdir()
    with open(poller.work / "poller.lock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        rc, line = poller.poll()
    assert (rc, line["event"]) == (0, "busy")
    assert poller.runs() == []


def test_failed_command_is_recorded_and_not_retried_by_default(poller):
    rc, line = poller.poll(env={"PIPELINE_EXIT": "3"})
    assert rc == 1
    assert line["event"] == "run" and line["status"] == "failed" and line["exit_code"] == 3
    last = poller.state()["last_run"]
    assert last["status"] == "failed" and last["exit_code"] == 3 and last["attempt"] == 1
    assert "last_success" not in poller.state()
    rc, line = poller.poll()
    assert rc == 0 and line["event"] == "skipped" and line["reason"] == "not retried after failed"
    assert len(poller.runs()) == 1
    # a new commit runs again; --force reruns the same commit
    poller.commit("fix")
    assert poller.poll()[1]["status"] == "succeeded"
    rc, line = poller.poll("--force")
    assert rc == 0 and line["event"] == "run" and line["reason"] == "forced"
    assert len(poller.runs()) == 3


def test_failed_command_is_retried_up_to_max_attempts(poller):
    poller.write_config(max_attempts=2)
    failing = {"PIPELINE_EXIT": "1"}
    assert poller.poll(env=failing)[1]["attempt"] == 1
    rc, line = poller.poll(env=failing)
    assert rc == 1 and line["reason"] == "retry after failed" and line["attempt"] == 2
    rc, line = poller.poll(env=failing)
    assert rc == 0 and line["event"] == "skipped"
    assert len(poller.runs()) == 2


def test_interrupted_run_counts_as_an_attempt(poller):
    poller.write_config(max_attempts=2)
    poller.work.mkdir()
    (poller.work / "state.json").write_text(
        json.dumps({"last_run": {"commit": poller.head(), "status": "running", "attempt": 1}})
    )
    rc, line = poller.poll()
    assert rc == 0 and line["event"] == "run" and line["reason"] == "retry after interrupted"


def test_command_timeout_stops_the_run(poller):
    hold = poller.tmp / "hold-forever"
    hold.write_text("")
    poller.write_config(timeout=1)
    started = time.monotonic()
    rc, line = poller.poll(env={"PIPELINE_HOLD": str(hold)})
    assert time.monotonic() - started < 20
    assert rc == 1 and line["status"] == "failed" and line["timed_out"] is True


def test_every_poll_appends_one_json_line_to_the_log_file(poller):
    poller.poll()
    poller.poll()
    lines = [json.loads(line) for line in poller.log_file.read_text().splitlines()]
    assert [line["event"] for line in lines] == ["run", "no_change"]
    assert all("ts" in line and line["branch"] == "main" for line in lines)


def test_credentials_in_the_repository_url_never_reach_the_log(poller):
    poller.write_config(repo="https://deploy:s3cr3t-token@127.0.0.1:9/team/app.git")
    rc, line = poller.poll()
    assert rc == 3 and line["event"] == "error"
    assert "s3cr3t-token" not in json.dumps(line)
    assert "s3cr3t-token" not in poller.log_file.read_text()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("{not json", "is not readable JSON"),
        ("[]", "must hold a JSON object"),
        (json.dumps({"repo": "/tmp/x"}), "missing command"),
        (json.dumps({"repo": "/tmp/x", "command": "ansible-playbook pipeline.yml"}), "command must be a list"),
        (json.dumps({"repo": "/tmp/x", "command": ["true"], "branch": "--upload-pack=x"}), "not a valid branch"),
        (json.dumps({"repo": "/tmp/x", "command": ["true"], "branch": "main\n"}), "not a valid branch"),
        (json.dumps({"repo": "/tmp/x", "command": ["true"], "colour": "red"}), "unknown keys colour"),
        (json.dumps({"repo": "/tmp/x", "command": ["true"], "timeout": "soon"}), "timeout must be"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_code_2(poller, config, message):
    poller.config.write_text(config)
    rc, line = poller.poll()
    assert rc == 2
    assert line["event"] == "error" and message in line["message"]


def test_missing_branch_is_a_repository_error(poller):
    poller.write_config(branch="release")
    rc, line = poller.poll()
    assert rc == 3 and "branch release does not exist" in line["message"]
    assert poller.runs() == []


# --- credentials: a real smart-HTTP server with basic auth, and a recording `git` first on PATH ---

TOKEN = "glpat-Zq8sT0kenSecret42"


@pytest.fixture
def served(poller):
    """The poller's repository over HTTP: /private/app needs TOKEN as the password, /public/app is open."""
    root = poller.tmp / "served"
    for area in ("private", "public"):
        (root / area).mkdir(parents=True)
        (root / area / "app").symlink_to(poller.repo)
    server, httpd = start_git_http_server(root, TOKEN)
    yield server
    httpd.shutdown()
    httpd.server_close()


def recorded_poll(poller, *extra: str, env: dict | None = None) -> tuple[int, dict, list[dict]]:
    """Poll with the recording git first on PATH: (exit code, JSON line, one record per git process started)."""
    record = poller.tmp / "git-calls.jsonl"
    record.unlink(missing_ok=True)
    bin_dir = poller.tmp / "bin"
    git_recorder(bin_dir, sys.executable)
    recording = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GIT_RECORD": str(record),
        "GIT_RECORD_REAL": shutil.which("git"),
        "GIT_RECORD_SECRET": TOKEN,
    }
    rc, line = poller.poll(*extra, env=dict(recording, **(env or {})))
    calls = [json.loads(entry) for entry in record.read_text().splitlines()] if record.exists() else []
    return rc, line, calls


def files_holding(directory: Path, secret: str) -> list[str]:
    found = []
    for path in directory.rglob("*"):
        if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
            found.append(str(path.relative_to(directory)))
    return found


def assert_token_reached_git_only_through_its_environment(calls: list[dict]) -> None:
    assert calls, "the poller started no git process"
    remote = [call for call in calls if {"ls-remote", "fetch"} & set(call["argv"])]
    assert remote, calls
    for call in calls:
        assert TOKEN not in " ".join(call["argv"]), f"the token is on a git command line: {call['argv']}"
        assert not any("@" in arg and "://" in arg for arg in call["argv"]), call["argv"]
    for call in remote:
        assert call["env_with_secret"] == ["CONVEYOR_GIT_PASSWORD"], call
    for call in calls:
        if call not in remote:
            assert call["env_with_secret"] == [], f"a local git command got the token: {call}"


def assert_token_stored_nowhere(poller, line: dict) -> None:
    assert TOKEN not in json.dumps(line)
    assert files_holding(poller.work, TOKEN) == [], "the token was written below the work dir"
    assert TOKEN not in poller.log_file.read_text()
    assert TOKEN not in json.dumps(poller.runs()), "the pipeline's environment got the token"


def test_token_in_the_repository_url_reaches_git_only_through_its_environment(poller, served):
    poller.write_config(repo=served.url("private/app", f"deploy:{TOKEN}"))
    rc, line, calls = recorded_poll(poller)
    assert rc == 0, line
    assert line["event"] == "run" and line["head"] == poller.head()
    assert line["repo"] == served.url("private/app")
    assert_token_reached_git_only_through_its_environment(calls)
    assert {user for _method, _path, user in served.requests} >= {"deploy"}
    poller.commit("v2")
    rc, line, calls = recorded_poll(poller)
    assert rc == 0 and line["event"] == "run" and line["head"] == poller.head()
    assert_token_reached_git_only_through_its_environment(calls)
    assert_token_stored_nowhere(poller, line)
    assert poller.runs()[-1]["env"]["CONVEYOR_TRIGGER_REPO"] == served.url("private/app")


def test_repo_token_is_sent_with_the_configured_user_name(poller, served):
    poller.write_config(repo=served.url("private/app"), repo_token=TOKEN, repo_user="ci-bot")
    rc, line, calls = recorded_poll(poller)
    assert rc == 0 and line["event"] == "run", line
    assert_token_reached_git_only_through_its_environment(calls)
    assert_token_stored_nowhere(poller, line)
    assert "ci-bot" in {user for _method, _path, user in served.requests}


def test_repo_token_without_a_user_name_is_sent_as_user_git(poller, served):
    poller.write_config(repo=served.url("private/app"), repo_token=TOKEN)
    rc, line = poller.poll()
    assert rc == 0 and line["event"] == "run", line
    assert "git" in {user for _method, _path, user in served.requests}


def test_a_token_alone_in_the_url_is_kept_off_the_command_line(poller, served):
    # https://TOKEN@host: the token stands where the user name goes; the server here wants it as the password
    poller.write_config(repo=served.url("private/app", TOKEN))
    rc, line, calls = recorded_poll(poller)
    assert rc == 3 and line["event"] == "error", line
    for call in calls:
        assert TOKEN not in " ".join(call["argv"]), call["argv"]
    assert_token_stored_nowhere(poller, line)
    assert TOKEN in {user for _method, _path, user in served.requests}, "the user name was not sent"


def test_a_credential_helper_of_the_user_never_sees_the_token(poller, served, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    store = home / "stored-credentials"
    (home / ".gitconfig").write_text(f"[credential]\n\thelper = store --file={store}\n")
    poller.write_config(repo=served.url("private/app", f"deploy:{TOKEN}"))
    rc, line = poller.poll(env={"HOME": str(home), "XDG_CONFIG_HOME": str(home)})
    assert rc == 0 and line["event"] == "run", line
    assert not store.exists() or TOKEN not in store.read_text(), "git stored the token with the user's helper"


def test_wrong_token_is_one_line_without_the_token(poller, served):
    poller.write_config(repo=served.url("private/app", "deploy:wrong-Secret-Value"))
    rc, line, calls = recorded_poll(poller)
    assert rc == 3 and line["event"] == "error", line
    assert line["message"].startswith("git ls-remote failed")
    assert "wrong-Secret-Value" not in json.dumps(line)
    assert "wrong-Secret-Value" not in poller.log_file.read_text()
    assert all("wrong-Secret-Value" not in " ".join(call["argv"]) for call in calls)


def test_repository_without_credentials_over_http_needs_no_secret(poller, served):
    poller.write_config(repo=served.url("public/app"))
    rc, line, calls = recorded_poll(poller)
    assert rc == 0 and line["event"] == "run", line
    assert all(call["env_with_secret"] == [] for call in calls)
    assert {user for _method, _path, user in served.requests} == {None}


def test_file_url_still_works(poller):
    poller.write_config(repo=f"file://{poller.repo}")
    rc, line = poller.poll()
    assert rc == 0 and line["event"] == "run" and line["head"] == poller.head()


def test_ssh_url_keeps_its_user_name(poller):
    calls = poller.tmp / "ssh-calls"
    fake_ssh = poller.tmp / "fake-ssh"
    # what a real ssh would do on the far side: run the git command it is given, here on this host
    fake_ssh.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nshift\nexec sh -c "$*"\n')
    fake_ssh.chmod(0o755)
    poller.write_config(repo=f"ssh://deploy@git.example.invalid{poller.repo}")
    rc, line = poller.poll(env={"GIT_SSH_COMMAND": str(fake_ssh), "GIT_SSH_VARIANT": "simple"})
    assert rc == 0 and line["event"] == "run", line
    assert calls.read_text().split() == ["deploy@git.example.invalid"] * 2
    assert line["repo"] == f"ssh://deploy@git.example.invalid{poller.repo}"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"repo": f"ssh://deploy:{TOKEN}@git.example.invalid/app.git"}, "ssh URLs cannot carry a password"),
        ({"repo": "/srv/git/app.git", "repo_token": TOKEN}, "repo_token needs an http(s) repo URL"),
        ({"repo": f"https://deploy:{TOKEN}@git.example.invalid/app.git", "repo_token": TOKEN}, "not both"),
        ({"repo": "https://git.example.invalid/app.git", "repo_token": 42}, "repo_token must be a string"),
        ({"repo": "https://git.example.invalid/app.git", "repo_user": "ci-bot"}, "set both"),
    ],
)
def test_bad_credentials_are_one_line_without_the_token(poller, overrides, message):
    poller.write_config(**overrides)
    rc, line = poller.poll()
    assert rc == 2 and line["event"] == "error" and message in line["message"], line
    assert TOKEN not in json.dumps(line)
