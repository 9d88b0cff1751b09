# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changelog text: Keep a Changelog sections from commits or antsibull-changelog fragments.

A section looks like::

    ## [1.3.0] - 2026-05-04

    ### Features

    - **api:** add the /health endpoint (1a2b3c4)

Groups, in this order: Breaking, Features, Fixes, Performance, Other; empty groups are left out.
"""

from __future__ import annotations

import re

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._semver import max_level

GROUPS = ("Breaking", "Features", "Fixes", "Performance", "Other")

HEADER = """# Changelog

All notable changes to this project are documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).
"""

# antsibull-changelog fragment sections: (changelog group, bump level). Collections follow
# semver for their public interface, so removals are breaking and deprecations are features.
FRAGMENT_SECTIONS = {
    "breaking_changes": ("Breaking", "major"),
    "major_changes": ("Breaking", "major"),
    "removed_features": ("Breaking", "major"),
    "minor_changes": ("Features", "minor"),
    "deprecated_features": ("Other", "minor"),
    "security_fixes": ("Fixes", "patch"),
    "bugfixes": ("Fixes", "patch"),
    "known_issues": ("Other", "none"),
}
FRAGMENT_IGNORED = ("release_summary", "trivial")

_SECTION_RE = re.compile(r"^## \[?(?P<version>[^\]\s]+)\]?", re.MULTILINE)


def commit_group(commit) -> str:
    if commit.breaking:
        return "Breaking"
    return {"feat": "Features", "fix": "Fixes", "revert": "Fixes", "perf": "Performance"}.get(commit.type, "Other")


def commit_entry(commit) -> str:
    scope = f"**{commit.scope}:** " if commit.scope else ""
    kind = "" if commit.type in ("feat", "fix", "perf", "revert") else f"{commit.type}: "
    text = f"- {scope}{kind}{commit.description} ({commit.short})"
    for note in commit.breaking_notes:
        text += f"\n  - BREAKING CHANGE: {note}"
    return text


def render_section(version: str, date: str, grouped: dict[str, list[str]], summary: str | None = None) -> str:
    """One Keep a Changelog section from entries per group, ending with one newline."""
    lines = [f"## [{version}] - {date}", ""]
    if summary:
        lines += [summary.strip(), ""]
    for group in GROUPS:
        entries = grouped.get(group) or []
        if entries:
            lines += [f"### {group}", "", *entries, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def section_from_commits(version: str, date: str, commits) -> str:
    """A section listing ``commits`` (oldest first) in their groups."""
    grouped: dict[str, list[str]] = {}
    for commit in reversed(list(commits)):
        grouped.setdefault(commit_group(commit), []).append(commit_entry(commit))
    return render_section(version, date, grouped)


def insert_section(existing: str | None, section: str, version: str) -> str:
    """The changelog text with ``section`` placed above the newest release section.

    A missing or empty file starts with the Keep a Changelog header. An ``[Unreleased]``
    section stays on top. A file that already has a section for ``version`` is an error.
    """
    text = existing if existing and existing.strip() else HEADER
    for match in _SECTION_RE.finditer(text):
        if match["version"] == version:
            raise ConfigurationError(
                f"the changelog already has a section for {version}: remove it or create the tag for that release"
            )
    position = None
    for match in _SECTION_RE.finditer(text):
        if match["version"].lower() != "unreleased":
            position = match.start()
            break
    if position is None:
        return text.rstrip("\n") + "\n\n" + section
    return text[:position] + section + "\n" + text[position:]


def parse_fragment(name: str, data) -> dict[str, list[str]]:
    """Validate one antsibull-changelog fragment: a mapping of section -> list of strings."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"changelog fragment {name} must be a mapping of sections to lists of entries")
    out: dict[str, list[str]] = {}
    for section, entries in data.items():
        if isinstance(entries, str):
            entries = [entries]
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise ConfigurationError(f"changelog fragment {name}: section '{section}' must be a list of strings")
        out[str(section)] = entries
    return out


def fragments_bump(fragments: dict[str, dict[str, list[str]]]) -> str:
    """The bump level implied by some parsed fragments (unknown sections bump nothing)."""
    levels = []
    for sections in fragments.values():
        for section, entries in sections.items():
            if entries and section in FRAGMENT_SECTIONS:
                levels.append(FRAGMENT_SECTIONS[section][1])
    return max_level(levels)


def section_from_fragments(version: str, date: str, fragments: dict[str, dict[str, list[str]]]) -> str:
    """A section from fragments (sorted by file name); release_summary becomes the intro paragraph."""
    grouped: dict[str, list[str]] = {}
    summaries = []
    for name in sorted(fragments):
        for section, entries in fragments[name].items():
            entries = [entries] if isinstance(entries, str) else entries
            if section == "release_summary":
                summaries += entries
                continue
            if section in FRAGMENT_IGNORED:
                continue
            group = FRAGMENT_SECTIONS.get(section, ("Other", "none"))[0]
            prefix = "Deprecated: " if section == "deprecated_features" else ""
            for entry in entries:
                lines = entry.strip().splitlines() or [""]
                grouped.setdefault(group, []).append(
                    "\n".join([f"- {prefix}{lines[0]}", *(("  " + ln) if ln.strip() else "" for ln in lines[1:])])
                )
    return render_section(version, date, grouped, "\n\n".join(s.strip() for s in summaries) or None)
