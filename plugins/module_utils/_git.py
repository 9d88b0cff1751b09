# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A thin git wrapper: every call is an argv list run through ``_process``.

Only what release preparation needs: tags merged into HEAD, the log of a range
(optionally limited to a path), status, commit, annotated tag and push.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

from ansible_collections.conveyor.cicd.plugins.module_utils._commits import Commit, parse_message
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._process import find_binary, run_capture
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import mask_text

GIT_TIMEOUT = 300
# git runs "!<helper> get|store|erase" through the shell; only "get" answers, from the environment (printf is a
# shell builtin), so a token given in a remote URL never reaches a command line
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && printf "username=%s\\npassword=%s\\n" '
    '"$CONVEYOR_GIT_USERNAME" "$CONVEYOR_GIT_PASSWORD"; }; f'
)
_HTTP_REMOTE = re.compile(
    r"(?P<scheme>https?)://(?P<userinfo>[^/?#@]*)@(?P<rest>[^/?#]+.*)\Z", re.IGNORECASE | re.DOTALL
)


def remote_access(remote: str) -> tuple[str, dict, list[str]]:
    """(what git may see, environment, secrets) for a remote name or URL.

    An http(s) URL with ``user:token@`` (or a bare ``token@``) loses its userinfo; git gets the credentials
    from a helper set for that host alone through ``GIT_CONFIG_*``, after an empty helper that keeps the
    user's own helpers from storing them.
    """
    match = _HTTP_REMOTE.match(remote)
    if not match:
        return remote, {}, []
    user, colon, password = match.group("userinfo").partition(":")
    user, password = unquote(user), unquote(password) if colon else None
    if password is None:  # https://TOKEN@host: the user name is the token
        user, password = "git", user
    public = f"{match.group('scheme')}://{match.group('rest')}"
    origin = public.split("/", 3)
    origin = "/".join(origin[:3])
    count = os.environ.get("GIT_CONFIG_COUNT", "")
    first = int(count) if count.isdigit() else 0
    env = {"CONVEYOR_GIT_USERNAME": user, "CONVEYOR_GIT_PASSWORD": password, "GIT_CONFIG_COUNT": str(first + 2)}
    for index, value in enumerate(("", _CREDENTIAL_HELPER), start=first):
        env[f"GIT_CONFIG_KEY_{index}"] = f"credential.{origin}.helper"
        env[f"GIT_CONFIG_VALUE_{index}"] = value
    return public, env, [password, match.group("userinfo")]


class Git:
    """git commands in one work tree; ``cwd`` is the top level of that work tree."""

    def __init__(self, repo: str, env: dict | None = None, timeout: float = GIT_TIMEOUT):
        self.binary = find_binary("git", "install git (e.g. apt-get install git)")
        if not os.path.isdir(repo):
            raise ConfigurationError(f"repository path '{repo}' does not exist")
        # C locale: stable messages; no prompts: a push needing credentials fails instead of hanging
        self.env = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", **(env or {})}
        self.timeout = timeout
        self.cwd = os.path.abspath(repo)
        rc, out, _err = self._call(["rev-parse", "--show-toplevel"])
        if rc != 0:
            raise ConfigurationError(f"'{repo}' is not a git repository: give the path of a git work tree")
        self.cwd = out.strip()

    def _call(self, args: list[str], env: dict | None = None) -> tuple[int, str, str]:
        return run_capture([self.binary, *args], cwd=self.cwd, env={**self.env, **(env or {})}, timeout=self.timeout)

    def run(self, *args: str, env: dict | None = None, secrets=()) -> str:
        """stdout of ``git <args>``; a failure raises CommandError with git's own last line."""
        rc, out, err = self._call(list(args), env)
        if rc != 0:
            lines = [ln for ln in (err or out).strip().splitlines() if ln.strip()]
            reason = mask_text(lines[-1].strip(), secrets) if lines else f"exit code {rc}"
            raise CommandError(f"git {args[0]} failed: {reason}", rc=rc, stderr=mask_text(err[-2000:], secrets))
        return out

    def ok(self, *args: str) -> bool:
        return self._call(list(args))[0] == 0

    def head(self) -> str | None:
        """The sha of HEAD, or None in a repository without commits."""
        rc, out, _err = self._call(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])
        return out.strip() if rc == 0 else None

    def resolve(self, rev: str) -> str | None:
        rc, out, _err = self._call(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"])
        return out.strip() if rc == 0 else None

    def tag_exists(self, tag: str) -> bool:
        return self.ok("rev-parse", "--verify", "--quiet", f"refs/tags/{tag}")

    def merged_tags(self) -> list[str]:
        """Names of the tags whose commits are reachable from HEAD."""
        return [t for t in self.run("tag", "--merged", "HEAD", "--list").splitlines() if t]

    def log(self, since: str | None, path: str | None = None) -> list[Commit]:
        """Non-merge commits in ``since..HEAD`` (all of HEAD without ``since``), newest first.

        Merge commits are skipped; the commits they bring in are listed. With ``path``,
        only commits that touch it count.
        """
        rev = f"{since}..HEAD" if since else "HEAD"
        args = ["log", "--no-merges", "-z", "--format=%H%x1f%B", rev]
        if path:
            args += ["--", path]
        commits = []
        for record in self.run(*args).split("\0"):
            record = record.strip("\n")
            if not record:
                continue
            sha, _sep, message = record.partition("\x1f")
            commits.append(parse_message(sha.strip(), message))
        return commits

    def dirty_files(self) -> list[str]:
        """Tracked files with staged or unstaged changes (untracked files do not count)."""
        out = self.run("status", "--porcelain", "--untracked-files=no", "-z")
        return [entry[3:] for entry in out.split("\0") if len(entry) > 3]

    def branch(self) -> str | None:
        rc, out, _err = self._call(["symbolic-ref", "--quiet", "--short", "HEAD"])
        return out.strip() if rc == 0 else None

    def list_files(self, rev: str, directory: str) -> list[str]:
        """Files under ``directory`` (relative to the top level) in the tree of ``rev``."""
        out = self.run("ls-tree", "-r", "--name-only", "-z", rev, "--", directory)
        return [name for name in out.split("\0") if name]

    def show_file(self, rev: str, name: str) -> str:
        return self.run("show", f"{rev}:{name}")

    def commit_files(self, message: str, files: list[str]) -> str:
        """Commit exactly ``files`` (other staged changes stay staged) and return the new sha."""
        self.run("add", "--", *files)
        self.run("commit", "--quiet", "-m", message, "--only", "--", *files)
        return self.head() or ""

    def tag_annotated(self, tag: str, message: str, rev: str = "HEAD") -> None:
        self.run("tag", "--annotate", "--message", message, tag, rev)

    def remote_has_tag(self, remote: str, tag: str) -> bool:
        url, env, secrets = remote_access(remote)
        return bool(self.run("ls-remote", "--tags", url, f"refs/tags/{tag}", env=env, secrets=secrets).strip())

    def push(self, remote: str, branch: str | None, tag: str) -> None:
        refs = [f"HEAD:refs/heads/{branch}"] if branch else []
        url, env, secrets = remote_access(remote)
        self.run("push", "--atomic", url, *refs, f"refs/tags/{tag}", env=env, secrets=secrets)
