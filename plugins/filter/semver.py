# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Semantic version filters: semver_bump, semver_compare, semver_sort (documented in the .yml files beside)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._semver import bump, compare, sort_versions


def semver_bump(version, level="patch", prerelease=None, major_version_zero=False):
    """``version`` bumped by ``level`` (major, minor, patch), optionally as the next prerelease."""
    try:
        return str(bump(version, level, prerelease=prerelease or None, major_version_zero=major_version_zero))
    except ConveyorError as exc:
        raise AnsibleFilterError(f"semver_bump: {exc}") from None


def semver_compare(left, right):
    """-1, 0 or 1 as ``left`` ranks below, equal to or above ``right``."""
    try:
        return compare(left, right)
    except ConveyorError as exc:
        raise AnsibleFilterError(f"semver_compare: {exc}") from None


def semver_sort(values, reverse=False):
    """The versions sorted by semantic version precedence."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise AnsibleFilterError("semver_sort: expects a list of versions")
    try:
        return sort_versions(list(values), reverse=bool(reverse))
    except ConveyorError as exc:
        raise AnsibleFilterError(f"semver_sort: {exc}") from None


class FilterModule:
    def filters(self):
        return {"semver_bump": semver_bump, "semver_compare": semver_compare, "semver_sort": semver_sort}
