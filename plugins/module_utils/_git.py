# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A thin git wrapper: every call is an argv list run through ``_process``.

Only what release preparation needs: tags merged into HEAD, the log of a range
(optionally limited to a path), status, commit, annotated tag and push.
"""

from __future__ import annotations

import os

from ansible_collections.conveyor.cicd.plugins.module_utils._commits import Commit, parse_message
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import CommandError, ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._process import find_binary, run_capture

GIT_TIMEOUT = 300


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

    def _call(self, args: list[str]) -> tuple[int, str, str]:
        return run_capture([self.binary, *args], cwd=self.cwd, env=self.env, timeout=self.timeout)

    def run(self, *args: str) -> str:
        """stdout of ``git <args>``; a failure raises CommandError with git's own last line."""
        rc, out, err = self._call(list(args))
        if rc != 0:
            lines = [ln for ln in (err or out).strip().splitlines() if ln.strip()]
            reason = lines[-1].strip() if lines else f"exit code {rc}"
            raise CommandError(f"git {args[0]} failed: {reason}", rc=rc, stderr=err[-2000:])
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
        return bool(self.run("ls-remote", "--tags", remote, f"refs/tags/{tag}").strip())

    def push(self, remote: str, branch: str | None, tag: str) -> None:
        refs = [f"HEAD:refs/heads/{branch}"] if branch else []
        self.run("push", "--atomic", remote, *refs, f"refs/tags/{tag}")
