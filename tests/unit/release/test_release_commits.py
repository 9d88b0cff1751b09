"""Conventional commit parsing and the bump each commit implies."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._commits import (
    bump_level,
    cancel_reverts,
    counted,
    parse_message,
)


@pytest.mark.parametrize(
    ("message", "kind", "scope", "bump"),
    [
        ("feat: add login", "feat", None, "minor"),
        ("fix(api): handle empty body", "fix", "api", "patch"),
        ("perf: faster index", "perf", None, "patch"),
        ("docs: typo", "docs", None, "none"),
        ("refactor(core): split module", "refactor", "core", "none"),
        ("feat!: drop python 3.8", "feat", None, "major"),
        ("chore(deps)!: require postgres 16", "chore", "deps", "major"),
        ("Feat: upper case type", "feat", None, "minor"),
        ("fix: a\n\nBREAKING CHANGE: config moved", "fix", None, "major"),
        ("feat: b\n\nsome text\n\nBREAKING-CHANGE: flag removed", "feat", None, "major"),
    ],
)
def test_conventional_messages(message, kind, scope, bump):
    commit = parse_message("a" * 40, message)
    assert commit.type == kind
    assert commit.scope == scope
    assert commit.bump == bump


@pytest.mark.parametrize(
    "message",
    [
        "Update README",
        "Merge branch 'feature'",
        "feat:missing space",
        "feat : space before colon",
        "fix(scope: unclosed",
        "",
    ],
)
def test_messages_that_are_not_conventional_bump_nothing(message):
    commit = parse_message("b" * 40, message)
    assert commit.type is None
    assert not commit.conventional
    assert commit.bump == "none"


def test_breaking_change_footer_must_be_upper_case():
    assert parse_message("b" * 40, "feat: a\n\nbreaking change: lower case").bump == "minor"


def test_breaking_note_and_description_are_kept():
    commit = parse_message("c" * 40, "feat(api)!: new auth\n\nBody.\n\nBREAKING CHANGE: tokens expire after 1h")
    assert commit.description == "new auth"
    assert commit.breaking_notes == ["tokens expire after 1h"]
    assert commit.as_dict()["short"] == "ccccccc"


def test_git_revert_message_names_the_reverted_commit():
    sha = "d" * 40
    commit = parse_message("e" * 40, f'Revert "feat: cache"\n\nThis reverts commit {sha}.')
    assert commit.is_revert and commit.type == "revert"
    assert commit.revert_of == sha
    assert commit.bump == "patch"


def test_revert_within_the_range_cancels_both_commits():
    feat = parse_message("1" * 40, "feat: cache")
    fix = parse_message("2" * 40, "fix: bug")
    revert = parse_message("3" * 40, f'Revert "feat: cache"\n\nThis reverts commit {"1" * 40}.')
    newest_first = [revert, fix, feat]
    assert [c.sha for c in cancel_reverts(newest_first)] == ["2" * 40]
    assert bump_level(newest_first) == "patch"


def test_revert_of_a_revert_restores_the_original():
    feat = parse_message("1" * 40, "feat: cache")
    revert = parse_message("2" * 40, f'Revert "feat: cache"\n\nThis reverts commit {"1" * 40}.')
    again = parse_message("3" * 40, f'Revert "Revert "feat: cache""\n\nThis reverts commit {"2" * 40}.')
    assert [c.sha for c in counted([again, revert, feat])] == ["1" * 40]
    assert bump_level([again, revert, feat]) == "minor"


def test_conventional_revert_with_refs_footer():
    feat = parse_message("1234567" + "0" * 33, "feat: x")
    revert = parse_message("9" * 40, "revert: feat: x\n\nRefs: 1234567")
    assert revert.revert_of == "1234567"
    assert counted([revert, feat]) == []


def test_revert_of_a_commit_outside_the_range_is_a_patch():
    revert = parse_message("9" * 40, f'Revert "feat: old"\n\nThis reverts commit {"8" * 40}.')
    assert bump_level([revert]) == "patch"


def test_bump_level_is_the_highest_of_the_range():
    commits = [parse_message(str(i) * 40, m) for i, m in enumerate(["docs: a", "fix: b", "feat: c", "chore: d"])]
    assert bump_level(commits) == "minor"
    assert bump_level([]) == "none"
