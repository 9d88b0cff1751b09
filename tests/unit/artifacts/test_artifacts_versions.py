"""Semantic-version ordering used by retention and `latest`."""

from __future__ import annotations

import random

from ansible_collections.conveyor.cicd.plugins.module_utils._artifacts import is_prerelease, sort_versions, version_key


def test_semver_precedence_follows_the_specification_example():
    # the precedence chain from semver.org section 11, plus build metadata that must not matter
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
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = ordered[:]
    random.Random(7).shuffle(shuffled)
    assert sort_versions(shuffled) == list(reversed(ordered))


def test_numeric_components_compare_as_numbers_not_text():
    assert version_key("1.10.0") > version_key("1.9.0")
    assert version_key("1.0.0-rc.10") > version_key("1.0.0-rc.9")


def test_prerelease_detection():
    assert is_prerelease("1.3.0-rc.1")
    assert not is_prerelease("1.3.0")
    assert not is_prerelease("1.3.0+build.5")
    assert not is_prerelease("nightly")


def test_non_semantic_versions_sort_last_and_have_no_key():
    assert version_key("nightly") is None
    assert version_key("1.0") is None
    assert sort_versions(["nightly", "1.0.0", "0.9.0", "abc"]) == ["1.0.0", "0.9.0", "abc", "nightly"]
