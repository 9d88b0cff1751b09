"""The lint engine against the real tools on small trees."""

from __future__ import annotations

import json
import sys

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import (
    CommandError,
    ConfigurationError,
    MissingDependencyError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._lint import run_lint
from tests.support.paths import require_binary

UNFORMATTED = "import os\nx=1\n"


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    (tmp_path / "app.py").write_text(UNFORMATTED)
    (tmp_path / "clean.py").write_text('"""Clean."""\n\nVALUE = 1\n')
    (tmp_path / "conf.yml").write_text("---\nkey:  value\nkey2: [1,2]\n")
    (tmp_path / "deploy.sh").write_text("#!/bin/bash\nrm -rf $1/data\n")
    (tmp_path / "tool").write_text("#!/usr/bin/env bash\necho $HOME\n")
    return tmp_path


def test_ruff_findings_are_structured(tree):
    result = run_lint(str(tree), [{"name": "ruff"}], fail_on="never")
    assert result["findings"] == [
        {
            "tool": "ruff",
            "path": "app.py",
            "line": 1,
            "column": 8,
            "rule": "F401",
            "severity": "error",
            "message": "`os` imported but unused",
        }
    ]
    assert result["summary"]["by_tool"]["ruff"]["error"] == 1
    assert result["changed"] is False


def test_ruff_format_reports_unformatted_files(tree):
    result = run_lint(str(tree), [{"name": "ruff-format"}], fail_on="never")
    assert [f["path"] for f in result["findings"]] == ["app.py"]
    assert result["findings"][0]["rule"] == "format"


def test_yamllint_levels_rules_and_positions(tree):
    result = run_lint(str(tree), [{"name": "yamllint"}], fail_on="never")
    rules = {(f["line"], f["rule"], f["severity"]) for f in result["findings"]}
    assert (2, "colons", "error") in rules
    assert all(f["path"] == "conf.yml" for f in result["findings"])


def test_shellcheck_finds_scripts_by_extension_and_shebang(tree):
    require_binary("shellcheck", "the shellcheck lint tool")
    result = run_lint(str(tree), [{"name": "shellcheck"}], fail_on="never")
    assert {f["path"] for f in result["findings"]} == {"deploy.sh", "tool"}
    assert {f["rule"] for f in result["findings"]} >= {"SC2086"}


def test_ansible_lint_reads_codeclimate_output(tmp_path):
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks:\n    - shell: echo hi\n")
    result = run_lint(str(tmp_path), [{"name": "ansible-lint"}], fail_on="never", timeout=120)
    rules = {f["rule"] for f in result["findings"]}
    assert "name[play]" in rules or "name[missing]" in rules
    assert all(f["path"] == "site.yml" for f in result["findings"])


def test_command_tool_with_a_regex(tree):
    script = "print('app.py:1:8: W001 unused thing'); print('clean.py:3: E999 bad')"
    pattern = r"^(?P<path>[^:]+):(?P<line>\d+):(?:(?P<column>\d+):)? (?P<rule>[A-Z]\d+) (?P<message>.*)$"
    result = run_lint(
        str(tree),
        [{"name": "command", "argv": [sys.executable, "-c", script], "pattern": pattern, "severity": "warning"}],
        fail_on="never",
    )
    assert [(f["path"], f["line"], f["column"], f["rule"], f["severity"]) for f in result["findings"]] == [
        ("app.py", 1, 8, "W001", "warning"),
        ("clean.py", 3, None, "E999", "warning"),
    ]


def test_command_tool_with_sarif(tree):
    sarif = {
        "runs": [
            {
                "results": [
                    {
                        "ruleId": "S1",
                        "level": "note",
                        "message": {"text": "consider this"},
                        "locations": [
                            {"physicalLocation": {"artifactLocation": {"uri": "app.py"}, "region": {"startLine": 2}}}
                        ],
                    }
                ]
            }
        ]
    }
    script = f"print({json.dumps(json.dumps(sarif))})"
    result = run_lint(
        str(tree),
        [{"name": "command", "label": "scanner", "argv": [sys.executable, "-c", script], "format": "sarif"}],
        fail_on="never",
    )
    assert result["findings"] == [
        {
            "tool": "scanner",
            "path": "app.py",
            "line": 2,
            "column": None,
            "rule": "S1",
            "severity": "info",
            "message": "consider this",
        }
    ]


def test_fail_on_error_raises_with_findings_attached(tree):
    with pytest.raises(CommandError, match=r"lint found 1 errors .*first: app.py:1 \[ruff F401\]") as info:
        run_lint(str(tree), [{"name": "ruff"}])
    assert info.value.details["findings"][0]["rule"] == "F401"


def test_fail_on_warning_counts_warnings(tree):
    pattern = r"^(?P<path>[^:]+): (?P<message>.*)$"
    tools = [
        {
            "name": "command",
            "argv": [sys.executable, "-c", "print('app.py: meh')"],
            "pattern": pattern,
            "severity": "warning",
        }
    ]
    assert run_lint(str(tree), tools)["summary"]["by_severity"]["warning"] == 1
    with pytest.raises(CommandError):
        run_lint(str(tree), tools, fail_on="warning")


def test_fix_modifies_files_and_reports_them_then_is_idempotent(tree):
    tools = [{"name": "ruff"}, {"name": "ruff-format"}]
    first = run_lint(str(tree), tools, fix=True)
    assert first["changed"] and first["changed_files"] == ["app.py"]
    assert (tree / "app.py").read_text() == "x = 1\n"
    second = run_lint(str(tree), tools, fix=True)
    assert second["changed"] is False and second["changed_files"] == []


def test_fix_in_check_mode_returns_the_diff_and_writes_nothing(tree):
    result = run_lint(str(tree), [{"name": "ruff"}, {"name": "ruff-format"}], fix=True, check_mode=True)
    assert result["changed"] and result["changed_files"] == ["app.py"]
    assert (tree / "app.py").read_text() == UNFORMATTED
    assert result["diff"] == [
        {"before_header": "app.py", "after_header": "app.py", "before": UNFORMATTED, "after": "x = 1\n"}
    ]


def test_unknown_tool_lists_the_supported_ones(tree):
    with pytest.raises(
        ConfigurationError,
        match="unknown lint tool 'eslint': supported tools are ansible-lint, "
        "command, ruff, ruff-format, shellcheck, yamllint",
    ):
        run_lint(str(tree), [{"name": "eslint"}])


def test_missing_binary_names_the_tool_before_anything_runs(tree):
    with pytest.raises(MissingDependencyError, match="lint tool 'ruff' needs the 'ruff-nonexistent' program"):
        run_lint(str(tree), [{"name": "ruff-format"}, {"name": "ruff", "executable": "ruff-nonexistent"}], fix=True)
    assert (tree / "app.py").read_text() == UNFORMATTED


def test_missing_path_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        run_lint(str(tmp_path / "nope"), [{"name": "ruff"}])


def test_cache_returns_the_recorded_findings_until_a_file_changes(tree, tmp_path):
    cache = tmp_path / "lint-cache"
    first = run_lint(str(tree), [{"name": "ruff"}], fail_on="never", cache_dir=str(cache))
    assert first["cache"] == "miss"
    second = run_lint(str(tree), [{"name": "ruff"}], fail_on="never", cache_dir=str(cache))
    assert second["cache"] == "hit" and second["findings"] == first["findings"]
    (tree / "clean.py").write_text('"""Clean."""\n\nimport sys\n')
    third = run_lint(str(tree), [{"name": "ruff"}], fail_on="never", cache_dir=str(cache))
    assert third["cache"] == "miss" and len(third["findings"]) == 2


def test_cache_hit_with_errors_still_fails(tree, tmp_path):
    cache = tmp_path / "lint-cache"
    for _attempt in range(2):
        with pytest.raises(CommandError, match="lint found 1 errors"):
            run_lint(str(tree), [{"name": "ruff"}], cache_dir=str(cache))
    assert list(cache.rglob("*.json"))


def test_cache_ignore_leaves_build_outputs_out_of_the_key(tree, tmp_path):
    cache = tmp_path / "lint-cache"
    run_lint(str(tree), [{"name": "ruff"}], fail_on="never", cache_dir=str(cache), cache_ignore=["dist/**"])
    (tree / "dist").mkdir()
    (tree / "dist" / "app-1.0.whl").write_bytes(b"PK")
    again = run_lint(str(tree), [{"name": "ruff"}], fail_on="never", cache_dir=str(cache), cache_ignore=["dist/**"])
    assert again["cache"] == "hit"


def test_fix_records_the_fixed_tree_so_the_next_run_is_a_hit(tree, tmp_path):
    cache = tmp_path / "lint-cache"
    tools = [{"name": "ruff"}, {"name": "ruff-format"}]
    assert run_lint(str(tree), tools, fix=True, cache_dir=str(cache))["changed"]
    again = run_lint(str(tree), tools, fix=True, cache_dir=str(cache))
    assert again["cache"] == "hit" and again["changed"] is False
