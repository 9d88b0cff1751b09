"""Changelog text: sections from commits and fragments, and where they go in the file."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._changelog import (
    HEADER,
    fragments_bump,
    insert_section,
    parse_fragment,
    section_from_commits,
    section_from_fragments,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._commits import parse_message
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError


def _commits(*messages):
    # newest first, like git log
    return [parse_message(f"{i:x}" * 40, m) for i, m in reversed(list(enumerate(messages, start=1)))]


def test_section_groups_commits_in_order_with_short_ids():
    commits = _commits(
        "feat(api): add health endpoint",
        "fix: handle empty body",
        "perf: cache the index",
        "docs: explain setup",
        "feat!: drop v1\n\nBREAKING CHANGE: clients must use /v2",
        "feat: second feature",
    )
    text = section_from_commits("2.0.0", "2026-01-02", commits)
    assert text == (
        "## [2.0.0] - 2026-01-02\n"
        "\n"
        "### Breaking\n"
        "\n"
        "- drop v1 (5555555)\n"
        "  - BREAKING CHANGE: clients must use /v2\n"
        "\n"
        "### Features\n"
        "\n"
        "- **api:** add health endpoint (1111111)\n"
        "- second feature (6666666)\n"
        "\n"
        "### Fixes\n"
        "\n"
        "- handle empty body (2222222)\n"
        "\n"
        "### Performance\n"
        "\n"
        "- cache the index (3333333)\n"
        "\n"
        "### Other\n"
        "\n"
        "- docs: explain setup (4444444)\n"
    )


def test_empty_groups_are_left_out():
    text = section_from_commits("1.0.1", "2026-01-02", _commits("fix: one"))
    assert "### Features" not in text
    assert text.startswith("## [1.0.1] - 2026-01-02\n\n### Fixes\n\n- one (1111111)\n")


def test_new_file_gets_the_keep_a_changelog_header():
    text = insert_section(None, "## [0.1.0] - 2026-01-02\n\n### Features\n\n- a (1111111)\n", "0.1.0")
    assert text.startswith(HEADER)
    assert text.endswith("\n## [0.1.0] - 2026-01-02\n\n### Features\n\n- a (1111111)\n")


def test_new_section_goes_above_the_previous_release_and_below_unreleased():
    existing = HEADER + "\n## [Unreleased]\n\n- planned\n\n## [1.0.0] - 2025-12-01\n\n### Features\n\n- old\n"
    text = insert_section(existing, "## [1.1.0] - 2026-01-02\n\n### Features\n\n- new\n", "1.1.0")
    assert text.index("## [Unreleased]") < text.index("## [1.1.0]") < text.index("## [1.0.0]")
    assert "- new\n\n## [1.0.0]" in text


def test_a_section_for_the_same_version_is_refused():
    existing = HEADER + "\n## [1.1.0] - 2026-01-01\n"
    with pytest.raises(ConfigurationError, match=r"already has a section for 1\.1\.0"):
        insert_section(existing, "## [1.1.0] - 2026-01-02\n", "1.1.0")


def test_fragments_decide_the_bump():
    assert fragments_bump({"a.yml": {"bugfixes": ["x"]}}) == "patch"
    assert fragments_bump({"a.yml": {"bugfixes": ["x"]}, "b.yml": {"minor_changes": ["y"]}}) == "minor"
    assert fragments_bump({"a.yml": {"removed_features": ["z"]}}) == "major"
    assert fragments_bump({"a.yml": {"breaking_changes": ["z"]}}) == "major"
    assert fragments_bump({"a.yml": {"trivial": ["t"], "release_summary": "s"}}) == "none"
    assert fragments_bump({"a.yml": {"deprecated_features": ["d"]}}) == "minor"


def test_section_from_fragments_has_summary_and_groups():
    fragments = {
        "2-fix.yml": {"bugfixes": ["release - handle tags with a prefix (https://example.com/2)."]},
        "1-feature.yml": {"minor_changes": ["release - new ``path`` option.\nSecond line."]},
        "summary.yml": {"release_summary": "A small release.", "trivial": ["tidy"]},
    }
    text = section_from_fragments("1.2.0", "2026-01-02", fragments)
    assert text == (
        "## [1.2.0] - 2026-01-02\n\nA small release.\n\n"
        "### Features\n\n- release - new ``path`` option.\n  Second line.\n\n"
        "### Fixes\n\n- release - handle tags with a prefix (https://example.com/2).\n"
    )


@pytest.mark.parametrize("data", [["a list"], {"bugfixes": [1, 2]}, "text"])
def test_malformed_fragments_are_refused(data):
    with pytest.raises(ConfigurationError, match="changelog fragment"):
        parse_fragment("x.yml", data)
