# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Conventional commits (https://www.conventionalcommits.org/en/v1.0.0/): parse and classify.

``feat`` is a minor change; ``fix`` and ``perf`` are patch changes; ``!`` after the type or
scope, or a ``BREAKING CHANGE:`` / ``BREAKING-CHANGE:`` line in the body, is a major change.
Other conventional types (docs, refactor, chore, ...) are listed but bump nothing. Messages
that are not conventional commits are ignored.

Reverts: ``Revert "<subject>"`` (what ``git revert`` writes) and ``revert: <subject>`` are
recognised. A revert whose reverted commit is in the same range cancels it (neither counts);
a revert of an already released commit is a patch change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible_collections.conveyor.cicd.plugins.module_utils._semver import max_level

MINOR_TYPES = ("feat",)
PATCH_TYPES = ("fix", "perf")

_HEADER_RE = re.compile(
    r"^(?P<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: +(?P<desc>\S.*)$"
)
_BREAKING_RE = re.compile(r"^BREAKING[ -]CHANGE: *(?P<note>.*)$")
_GIT_REVERT_RE = re.compile(r'^Revert "(?P<subject>.+)"$')
_REVERTS_SHA_RE = re.compile(r"This reverts commit (?P<sha>[0-9a-f]{7,40})", re.IGNORECASE)
_REFS_SHA_RE = re.compile(r"^Refs: *(?P<sha>[0-9a-f]{7,40})\s*$", re.MULTILINE)


@dataclass
class Commit:
    sha: str
    subject: str
    body: str = ""
    type: str | None = None
    scope: str | None = None
    description: str = ""
    breaking: bool = False
    breaking_notes: list[str] = field(default_factory=list)
    revert_of: str | None = None  # sha named by "This reverts commit <sha>" or a Refs: footer
    is_revert: bool = False

    @property
    def short(self) -> str:
        return self.sha[:7]

    @property
    def conventional(self) -> bool:
        return self.type is not None

    @property
    def bump(self) -> str:
        if self.type is None:
            return "none"
        if self.breaking:
            return "major"
        if self.type in MINOR_TYPES:
            return "minor"
        if self.type in PATCH_TYPES or self.is_revert:
            return "patch"
        return "none"

    def as_dict(self) -> dict:
        return {
            "sha": self.sha,
            "short": self.short,
            "type": self.type,
            "scope": self.scope,
            "description": self.description,
            "breaking": self.breaking,
            "bump": self.bump,
            "subject": self.subject,
        }


def parse_message(sha: str, message: str) -> Commit:
    """Parse one commit message into a Commit (``type`` is None when it is not conventional)."""
    lines = message.strip("\n").splitlines() or [""]
    subject = lines[0].strip()
    body = "\n".join(lines[1:]).strip("\n")
    commit = Commit(sha=sha, subject=subject, body=body)

    git_revert = _GIT_REVERT_RE.match(subject)
    if git_revert:
        commit.is_revert = True
        commit.type = "revert"
        commit.description = subject
        inner = _HEADER_RE.match(git_revert["subject"])
        if inner:
            commit.scope = inner["scope"] or None
    else:
        header = _HEADER_RE.match(subject)
        if not header:
            return commit
        commit.type = header["type"].lower()  # the specification makes types case-insensitive
        commit.scope = (header["scope"] or "").strip() or None
        commit.description = header["desc"].strip()
        commit.breaking = bool(header["bang"])
        commit.is_revert = commit.type == "revert"

    for line in lines[1:]:
        found = _BREAKING_RE.match(line.strip())
        if found:
            commit.breaking = True
            if found["note"]:
                commit.breaking_notes.append(found["note"].strip())
    if commit.is_revert:
        sha_match = _REVERTS_SHA_RE.search(body) or _REFS_SHA_RE.search(body)
        commit.revert_of = sha_match["sha"] if sha_match else None
    return commit


def cancel_reverts(commits: list[Commit]) -> list[Commit]:
    """Drop each revert together with the commit it reverts when both are in ``commits``.

    A revert of a revert restores the original: the pair cancels, the original stays.
    """
    by_sha = {c.sha: c for c in commits}
    dropped: set[str] = set()
    # newest first (git log order): a revert is seen before the commit it reverts
    for commit in commits:
        if commit.sha in dropped or not commit.is_revert or not commit.revert_of:
            continue
        target = by_sha.get(commit.revert_of) or next((c for c in commits if c.sha.startswith(commit.revert_of)), None)
        if target is not None and target.sha not in dropped:
            dropped.update((commit.sha, target.sha))
    return [c for c in commits if c.sha not in dropped]


def counted(commits: list[Commit]) -> list[Commit]:
    """The conventional commits of a range, after cancelling reverts within the range."""
    return [c for c in cancel_reverts(commits) if c.conventional]


def bump_level(commits: list[Commit]) -> str:
    """The highest bump level of ``commits``: 'major', 'minor', 'patch' or 'none'."""
    return max_level(c.bump for c in counted(commits))
