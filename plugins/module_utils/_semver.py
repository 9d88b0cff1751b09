# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Semantic versions (https://semver.org/spec/v2.0.0.html): parse, compare, bump.

Plain Python with no dependencies, shared by the release engine, the artifact
repository's retention order and the ``semver_*`` filters.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError

LEVELS = ("none", "patch", "minor", "major")

_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER_PATTERN = (
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_SEMVER_RE = re.compile(rf"^{SEMVER_PATTERN}\Z")
_TOKEN_RE = re.compile(r"^[0-9A-Za-z-]+\Z")


@functools.total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple = ()
    build: tuple = ()

    @classmethod
    def parse(cls, text) -> Version:
        """Parse a strict SemVer 2.0 string; a leading ``v`` is accepted and dropped."""
        if isinstance(text, Version):
            return text
        value = str(text).strip()
        if value[:1] in ("v", "V"):
            value = value[1:]
        match = _SEMVER_RE.match(value)
        if not match:
            raise ConfigurationError(f"'{text}' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.4.2)")
        pre = tuple(int(p) if p.isdigit() else p for p in match["pre"].split(".")) if match["pre"] else ()
        build = tuple(match["build"].split(".")) if match["build"] else ()
        return cls(int(match["major"]), int(match["minor"]), int(match["patch"]), pre, build)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def core(self) -> Version:
        """The version without prerelease and build parts: 1.3.0 for 1.3.0-rc.2."""
        return Version(self.major, self.minor, self.patch)

    @property
    def prerelease_token(self) -> str | None:
        """The leading identifier of the prerelease part: ``rc`` for 1.3.0-rc.2."""
        return str(self.prerelease[0]) if self.prerelease else None

    @property
    def prerelease_number(self) -> int | None:
        """The counter of a ``<token>.<n>`` prerelease: 2 for 1.3.0-rc.2, else None."""
        if len(self.prerelease) == 2 and isinstance(self.prerelease[1], int):
            return self.prerelease[1]
        return None

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def _key(self):
        # SemVer precedence: a version without prerelease ranks above its prereleases;
        # numeric identifiers rank below alphanumeric ones; build metadata is ignored.
        if not self.prerelease:
            pre = (1,)
        else:
            pre = (0, *((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease))
        return (self.major, self.minor, self.patch, pre)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def parse(text) -> Version:
    return Version.parse(text)


def compare(left, right) -> int:
    """-1, 0 or 1 as ``left`` ranks below, equal to or above ``right`` in SemVer precedence."""
    a, b = Version.parse(left), Version.parse(right)
    return (a > b) - (a < b)


def sort_versions(values, reverse: bool = False) -> list:
    """The given version strings sorted by SemVer precedence (strings are returned unchanged)."""
    return sorted(values, key=Version.parse, reverse=reverse)


def max_level(levels) -> str:
    """The highest of some bump levels ('none' < 'patch' < 'minor' < 'major')."""
    best = "none"
    for level in levels:
        if LEVELS.index(check_level(level)) > LEVELS.index(best):
            best = level
    return best


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ConfigurationError(f"bump level '{level}' is not one of {', '.join(LEVELS)}")
    return level


def check_token(token: str) -> str:
    if not token or not _TOKEN_RE.match(token) or token.isdigit():
        raise ConfigurationError(
            f"prerelease '{token}' is not a valid prerelease identifier: use letters, digits and '-', e.g. rc or beta"
        )
    return token


def bump_core(version, level: str, major_version_zero: bool = True) -> Version:
    """The next release (no prerelease part) after ``version`` for a change of ``level``.

    A prerelease bumps to its own core version when that already covers the change:
    1.3.0-rc.1 plus a fix is 1.3.0, not 1.3.1. With ``major_version_zero`` a breaking
    change on 0.y.z bumps the minor version instead of releasing 1.0.0.
    """
    current = Version.parse(version)
    check_level(level)
    if level == "none":
        return current.core
    if level == "major" and current.major == 0 and major_version_zero:
        level = "minor"
    if current.is_prerelease:
        core = current.core
        covered = {
            "patch": True,
            "minor": core.patch == 0,
            "major": core.patch == 0 and core.minor == 0,
        }[level]
        if covered:
            return core
    if level == "major":
        return Version(current.major + 1, 0, 0)
    if level == "minor":
        return Version(current.major, current.minor + 1, 0)
    return Version(current.major, current.minor, current.patch + 1)


def bump(version, level: str, prerelease: str | None = None, major_version_zero: bool = True) -> Version:
    """``version`` bumped by ``level``; with ``prerelease`` the first or next ``<token>.<n>``.

    1.2.0 + minor + rc -> 1.3.0-rc.1; 1.3.0-rc.1 + patch + rc -> 1.3.0-rc.2;
    1.3.0-rc.2 + minor (no prerelease) -> 1.3.0.
    """
    current = Version.parse(version)
    if not prerelease:
        return bump_core(current, level, major_version_zero)
    check_token(prerelease)
    target = bump_core(current, level, major_version_zero)
    if current.is_prerelease and current.core == target and current.prerelease_token == prerelease:
        number = (current.prerelease_number or 0) + 1
    else:
        number = 1
    return Version(target.major, target.minor, target.patch, (prerelease, number))
