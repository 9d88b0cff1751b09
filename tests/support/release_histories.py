"""Scripted git histories for the release tests, built in temporary directories.

A history is a list of steps:

    ("c", message)                       commit a change to src/<n>.txt
    ("c", message, "app/x.txt")          commit a change to that file
    ("c", message, "app/x.txt", "lbl")   ... and remember the commit as "lbl"
    ("tag", name)                        annotated tag on HEAD
    ("branch", name) / ("checkout", name)
    ("merge", branch, message)           a merge commit (--no-ff) with that message
    ("revert", "lbl")                    git revert of a remembered commit

Dates advance one minute per commit, so every build of a history is identical.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}


def git_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY)
    env.update({"LC_ALL": "C", "GIT_CONFIG_NOSYSTEM": "1", "HOME": env.get("HOME", "/tmp")})
    if extra:
        env.update(extra)
    return env


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=git_env(env), capture_output=True, text=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def build_history(repo: Path, steps: list[tuple], files: dict[str, str] | None = None) -> dict[str, str]:
    """Create ``repo`` with ``steps``; returns the remembered commit shas by label."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "user.name", IDENTITY["GIT_AUTHOR_NAME"])
    git(repo, "config", "user.email", IDENTITY["GIT_AUTHOR_EMAIL"])
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "config", "tag.gpgsign", "false")
    for name, text in (files or {}).items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    labels: dict[str, str] = {}
    minute = 0

    def dated() -> dict:
        nonlocal minute
        minute += 1
        stamp = f"2024-01-01T{minute // 60:02d}:{minute % 60:02d}:00+00:00"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    for number, step in enumerate(steps):
        kind = step[0]
        if kind == "c":
            message = step[1]
            name = step[2] if len(step) > 2 and step[2] else f"src/{number}.txt"
            target = repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(f"{number} {message.splitlines()[0]}\n")
            git(repo, "add", "--all")
            git(repo, "commit", "--quiet", "-m", message, env=dated())
            if len(step) > 3:
                labels[step[3]] = git(repo, "rev-parse", "HEAD").strip()
        elif kind == "tag":
            git(repo, "tag", "-a", step[1], "-m", f"Release {step[1]}", env=dated())
        elif kind == "branch":
            git(repo, "checkout", "--quiet", "-b", step[1])
        elif kind == "checkout":
            git(repo, "checkout", "--quiet", step[1])
        elif kind == "merge":
            git(repo, "merge", "--quiet", "--no-ff", "-m", step[2], step[1], env=dated())
        elif kind == "revert":
            git(repo, "revert", "--no-edit", labels[step[1]], env=dated())
        else:
            raise ValueError(f"unknown history step {step!r}")
    return labels


# name -> (steps, options for conveyor.cicd.release, {tool: expected next version or None})
# "ours" is what conveyor.cicd computes; "psr" (python-semantic-release) and "cz" (commitizen)
# are what those tools compute on the same history. None means "no release".
# Differences are deliberate and documented in docs/release.md.
HISTORIES: dict[str, tuple[list, dict, dict]] = {
    "first_release_feat": (
        [("c", "feat: first feature"), ("c", "fix: a bug")],
        {},
        {"ours": "0.1.0", "psr": "0.1.0", "cz": "0.1.0"},
    ),
    "first_release_fix_only": (
        [("c", "fix: a bug"), ("c", "docs: readme")],
        {},
        {"ours": "0.1.0", "psr": "0.0.1", "cz": "0.0.1"},
    ),
    "patch": (
        [("c", "feat: a"), ("tag", "v1.0.0"), ("c", "fix: b"), ("c", "docs: c")],
        {},
        {"ours": "1.0.1", "psr": "1.0.1", "cz": "1.0.1"},
    ),
    "minor": (
        [("c", "feat: a"), ("tag", "v1.2.3"), ("c", "fix: b"), ("c", "feat(api): c"), ("c", "perf: d")],
        {},
        {"ours": "1.3.0", "psr": "1.3.0", "cz": "1.3.0"},
    ),
    "major_bang": (
        [("c", "feat: a"), ("tag", "v1.2.3"), ("c", "fix: b"), ("c", "feat!: drop the old API")],
        {},
        {"ours": "2.0.0", "psr": "2.0.0", "cz": "2.0.0"},
    ),
    "major_scoped_bang": (
        [("c", "feat: a"), ("tag", "v2.3.4"), ("c", "refactor(api)!: rename the endpoints")],
        {},
        {"ours": "3.0.0", "psr": "3.0.0", "cz": "3.0.0"},
    ),
    "major_footer": (
        [("c", "feat: a"), ("tag", "v1.2.3"), ("c", "fix: b\n\nBREAKING CHANGE: the config key moved")],
        {},
        {"ours": "2.0.0", "psr": "2.0.0", "cz": "2.0.0"},
    ),
    "major_hyphen_footer": (
        [("c", "feat: a"), ("tag", "v1.2.3"), ("c", "feat: b\n\nBREAKING-CHANGE: the flag is gone")],
        {},
        {"ours": "2.0.0", "psr": "2.0.0", "cz": "2.0.0"},
    ),
    "zero_breaking_bumps_minor": (
        [("c", "feat: a"), ("tag", "v0.4.1"), ("c", "feat!: new storage format")],
        {},
        {"ours": "0.5.0", "psr": "0.5.0", "cz": "0.5.0"},
    ),
    "zero_fix": (
        [("c", "feat: a"), ("tag", "v0.4.1"), ("c", "fix: b")],
        {},
        {"ours": "0.4.2", "psr": "0.4.2", "cz": "0.4.2"},
    ),
    "nothing_releasable": (
        [("c", "feat: a"), ("tag", "v1.0.0"), ("c", "docs: b"), ("c", "chore: c"), ("c", "not conventional")],
        {},
        {"ours": None, "psr": None, "cz": None},
    ),
    "no_commit_since_tag": (
        [("c", "feat: a"), ("c", "fix: b"), ("tag", "v1.0.0")],
        {},
        {"ours": None, "psr": None, "cz": None},
    ),
    "prerelease_first": (
        [("c", "feat: a"), ("tag", "v1.2.0"), ("c", "feat: b")],
        {"prerelease": "rc"},
        {"ours": "1.3.0-rc.1", "psr": "1.3.0-rc.1", "cz": "1.3.0-rc.1"},
    ),
    "prerelease_next": (
        [("c", "feat: a"), ("tag", "v1.2.0"), ("c", "feat: b"), ("tag", "v1.3.0-rc.1"), ("c", "fix: c")],
        {"prerelease": "rc"},
        {"ours": "1.3.0-rc.2", "psr": "1.3.0-rc.2", "cz": "1.3.0-rc.2"},
    ),
    "prerelease_then_final": (
        [
            ("c", "feat: a"),
            ("tag", "v1.2.0"),
            ("c", "feat: b"),
            ("tag", "v1.3.0-rc.1"),
            ("c", "fix: c"),
            ("tag", "v1.3.0-rc.2"),
        ],
        {},
        {"ours": "1.3.0", "psr": "1.3.0", "cz": "1.3.0"},
    ),
    "prerelease_escalates": (
        [("c", "feat: a"), ("tag", "v1.2.0"), ("c", "fix: b"), ("tag", "v1.2.1-rc.1"), ("c", "feat: c")],
        {"prerelease": "rc"},
        {"ours": "1.3.0-rc.1", "psr": "1.3.0-rc.1", "cz": "1.3.0-rc.1"},
    ),
    "merge_branch": (
        [
            ("c", "feat: a"),
            ("tag", "v1.0.0"),
            ("branch", "feature"),
            ("c", "feat: login page"),
            ("c", "fix: login typo"),
            ("checkout", "main"),
            ("c", "fix: main fix"),
            ("merge", "feature", "Merge branch 'feature'"),
        ],
        {},
        {"ours": "1.1.0", "psr": "1.1.0", "cz": "1.1.0"},
    ),
    "merge_with_conventional_message": (
        [
            ("c", "feat: a"),
            ("tag", "v1.0.0"),
            ("branch", "feature"),
            ("c", "fix: login typo"),
            ("checkout", "main"),
            ("c", "docs: b"),
            ("merge", "feature", "feat: merge the login work"),
        ],
        {},
        {"ours": "1.0.1", "psr": "1.0.1", "cz": "1.1.0"},
    ),
    "revert_of_unreleased_feature": (
        [
            ("c", "feat: a"),
            ("tag", "v1.0.0"),
            ("c", "feat: experimental cache", None, "cache"),
            ("c", "fix: b"),
            ("revert", "cache"),
        ],
        {},
        {"ours": "1.0.1", "psr": "1.1.0", "cz": "1.1.0"},
    ),
    "revert_of_released_feature": (
        [("c", "feat: a"), ("c", "feat: experimental cache", None, "cache"), ("tag", "v1.1.0"), ("revert", "cache")],
        {},
        {"ours": "1.1.1", "psr": None, "cz": None},
    ),
    "monorepo_path": (
        [
            ("c", "feat: app start", "app/main.txt"),
            ("c", "feat: lib start", "lib/main.txt"),
            ("tag", "app-v1.0.0"),
            ("tag", "lib-v2.0.0"),
            ("c", "feat: lib feature", "lib/feature.txt"),
            ("c", "fix: app fix", "app/fix.txt"),
        ],
        {"path": "app", "tag_format": "app-v{version}"},
        {"ours": "1.0.1", "psr": "1.0.1", "cz": "1.1.0"},
    ),
    "uppercase_type": (
        [("c", "feat: a"), ("tag", "v1.0.0"), ("c", "Feat: shouting is allowed by the spec")],
        {},
        {"ours": "1.1.0", "psr": None, "cz": None},
    ),
    "refactor_only": (
        [("c", "feat: a"), ("tag", "v1.0.0"), ("c", "refactor: tidy the parser")],
        {},
        {"ours": None, "psr": None, "cz": "1.0.1"},
    ),
    "prerelease_nothing_new": (
        [("c", "feat: a"), ("tag", "v1.2.0"), ("c", "feat: b"), ("tag", "v1.3.0-rc.1"), ("c", "docs: c")],
        {"prerelease": "rc"},
        {"ours": None, "psr": None, "cz": "1.3.0-rc.2"},
    ),
    "monorepo_other_path_only": (
        [
            ("c", "feat: app start", "app/main.txt"),
            ("tag", "app-v1.0.0"),
            ("c", "feat: lib feature", "lib/feature.txt"),
            ("c", "fix: lib fix", "lib/fix.txt"),
        ],
        {"path": "app", "tag_format": "app-v{version}"},
        {"ours": None, "psr": None, "cz": "1.1.0"},
    ),
}
