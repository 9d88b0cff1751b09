"""Semantic versions: parsing, precedence, bumps, prereleases."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._semver import (
    Version,
    bump,
    compare,
    max_level,
    sort_versions,
)


def test_parse_and_format_round_trip_with_prerelease_and_build():
    version = Version.parse("v1.2.3-rc.1+build.7")
    assert (version.major, version.minor, version.patch) == (1, 2, 3)
    assert version.prerelease == ("rc", 1)
    assert version.prerelease_token == "rc" and version.prerelease_number == 1
    assert str(version) == "1.2.3-rc.1+build.7"


@pytest.mark.parametrize("text", ["1.2", "01.2.3", "1.2.3-", "1.2.3-rc..1", "1.2.3-01", "latest", ""])
def test_invalid_versions_raise_one_clear_line(text):
    with pytest.raises(ConfigurationError) as err:
        Version.parse(text)
    assert "is not a semantic version" in str(err.value)
    assert "\n" not in str(err.value)


def test_precedence_follows_the_semver_specification():
    # the example list of semver.org section 11
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.9.0",
        "1.10.0",
    ]
    assert sort_versions(list(reversed(ordered))) == ordered
    assert sort_versions(ordered, reverse=True) == list(reversed(ordered))


def test_build_metadata_does_not_affect_precedence():
    assert compare("1.0.0+a", "1.0.0+b") == 0
    assert compare("1.0.1", "1.0.0+zzz") == 1
    assert compare("1.0.0-rc.1", "1.0.0") == -1


@pytest.mark.parametrize(
    ("version", "level", "expected"),
    [
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "major", "2.0.0"),
        ("1.2.3", "none", "1.2.3"),
        ("0.4.1", "major", "0.5.0"),
        ("1.3.0-rc.2", "patch", "1.3.0"),
        ("1.3.0-rc.2", "minor", "1.3.0"),
        ("1.3.0-rc.2", "major", "2.0.0"),
        ("1.2.1-rc.1", "minor", "1.3.0"),
        ("2.0.0-rc.1", "major", "2.0.0"),
    ],
)
def test_bump_to_a_final_release(version, level, expected):
    assert str(bump(version, level, major_version_zero=True)) == expected


def test_major_version_zero_can_be_turned_off():
    assert str(bump("0.4.1", "major", major_version_zero=False)) == "1.0.0"


def test_prereleases_count_up_and_restart_for_a_new_target():
    assert str(bump("1.2.0", "minor", prerelease="rc")) == "1.3.0-rc.1"
    assert str(bump("1.3.0-rc.1", "patch", prerelease="rc")) == "1.3.0-rc.2"
    assert str(bump("1.3.0-rc.2", "major", prerelease="rc")) == "2.0.0-rc.1"
    assert str(bump("1.3.0-beta.4", "patch", prerelease="rc")) == "1.3.0-rc.1"


@pytest.mark.parametrize("token", ["", "r c", "12", "rc.1"])
def test_invalid_prerelease_identifiers_are_refused(token):
    with pytest.raises(ConfigurationError):
        bump("1.0.0", "minor", prerelease=token or "!")


def test_max_level_orders_levels():
    assert max_level([]) == "none"
    assert max_level(["patch", "none", "minor"]) == "minor"
    assert max_level(["minor", "major", "patch"]) == "major"
    with pytest.raises(ConfigurationError):
        max_level(["huge"])
