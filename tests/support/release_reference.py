"""Run python-semantic-release and commitizen on a scripted history, configured like our defaults.

The tools are found in $RELEASE_REFERENCE_BIN (a directory), beside the test interpreter, or on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .paths import VENV_BIN
from .release_histories import git, git_env

TOOLS = {"psr": "semantic-release", "cz": "cz"}
_VERSION_LINE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def find_tool(binary: str) -> str | None:
    for directory in (os.environ.get("RELEASE_REFERENCE_BIN"), str(VENV_BIN)):
        if directory and (Path(directory) / binary).is_file():
            return str(Path(directory) / binary)
    return shutil.which(binary)


def _current_major(repo: Path, tag_format: str) -> int:
    prefix = tag_format.split("{version}")[0]
    tags = [t[len(prefix) :] for t in git(repo, "tag", "--merged", "HEAD").split() if t.startswith(prefix)]
    majors = [int(t.split(".")[0]) for t in tags if t[:1].isdigit()]
    return max(majors) if majors else 0


def run_psr(binary: str, repo: Path, options: dict, workdir: Path) -> str | None:
    """The next version python-semantic-release prints, or None when it would not release."""
    tag_format = options.get("tag_format", "v{version}")
    lines = [
        "[semantic_release]",
        f'repo_dir = "{repo}"',
        f'tag_format = "{tag_format}"',
        "allow_zero_version = true",
        "major_on_zero = false",
    ]
    if options.get("path"):
        lines += [
            'commit_parser = "conventional-monorepo"',
            "[semantic_release.commit_parser_options]",
            f'path_filters = ["{repo / options["path"]}"]',
        ]
    config = workdir / "psr.toml"
    config.write_text("\n".join(lines) + "\n")
    if not git(repo, "remote").strip():
        git(repo, "remote", "add", "origin", "https://github.com/example/app.git")
    argv = [binary, "-c", str(config), "--noop", "version", "--print"]
    if options.get("prerelease"):
        argv += ["--as-prerelease", "--prerelease-token", options["prerelease"]]
    proc = subprocess.run(argv, cwd=repo, env=git_env(), capture_output=True, text=True, timeout=120, check=False)
    printed = [ln.strip() for ln in proc.stdout.splitlines() if _VERSION_LINE.match(ln.strip())]
    if proc.returncode != 0 or not printed:
        raise RuntimeError(f"semantic-release failed in {repo}: {proc.stdout}{proc.stderr}")
    current = git(repo, "tag", "--points-at", "HEAD").split()
    version = printed[-1]
    # psr prints the current version when there is nothing to release
    existing = set(git(repo, "tag").split())
    if tag_format.replace("{version}", version) in existing or (current and version in current):
        return None
    return version


def run_cz(binary: str, repo: Path, options: dict) -> str | None:
    """The next version ``cz bump --get-next`` prints, or None when it would not release."""
    tag_format = options.get("tag_format", "v{version}")
    zero = _current_major(repo, tag_format) == 0
    (repo / ".cz.toml").write_text(
        "[tool.commitizen]\n"
        'name = "cz_conventional_commits"\n'
        'version_provider = "scm"\n'
        f'tag_format = "{tag_format.replace("{version}", "$version")}"\n'
        'version_scheme = "semver2"\n'
        f"major_version_zero = {'true' if zero else 'false'}\n"
    )
    argv = [binary, "bump", "--get-next", "--yes"]
    if options.get("prerelease"):
        argv += ["--prerelease", options["prerelease"], "--prerelease-offset", "1"]
    try:
        proc = subprocess.run(argv, cwd=repo, env=git_env(), capture_output=True, text=True, timeout=120, check=False)
    finally:
        (repo / ".cz.toml").unlink()
    if re.search(r"NO_COMMITS_(TO_BUMP|FOUND)", proc.stdout + proc.stderr):
        return None
    printed = [ln.strip() for ln in proc.stdout.splitlines() if _VERSION_LINE.match(ln.strip())]
    if proc.returncode != 0 or not printed:
        raise RuntimeError(f"cz failed in {repo} (rc {proc.returncode}): {proc.stdout}{proc.stderr}")
    return printed[-1]
