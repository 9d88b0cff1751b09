"""The planner: pending order, repeatables, validation problems, undo and baseline plans."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.driver import HistoryRow
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.files import checksum, load_migrations
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.planner import (
    plan_baseline,
    plan_migrate,
    plan_undo,
    replay,
)


def write(root, files: dict):
    for name, text in files.items():
        (root / name).write_text(text)
    return load_migrations(str(root))


def row(rank, version, script, text=None, type_="versioned", success=True, description=None):
    return HistoryRow(rank, version, description or script, type_, script, checksum(text) if text else None,
                      "tester", None, 1, success)  # fmt: skip


FILES = {
    "V1__one.sql": "CREATE TABLE one (id int);",
    "V1.1__one_b.sql": "ALTER TABLE one ADD b int;",
    "V2__two.sql": "CREATE TABLE two (id int);",
    "V10__ten.sql": "CREATE TABLE ten (id int);",
    "U2__two.sql": "DROP TABLE two;",
    "U10__ten.sql": "DROP TABLE ten;",
    "R__view.sql": "CREATE VIEW v AS SELECT 1;",
}


def scripts(steps):
    return [s.migration.script for s in steps]


def test_fresh_database_applies_versions_in_numeric_order_then_repeatables(tmp_path):
    plan = plan_migrate(write(tmp_path, FILES), [])
    assert plan.problems == []
    assert scripts(plan.steps) == ["V1__one.sql", "V1.1__one_b.sql", "V2__two.sql", "V10__ten.sql", "R__view.sql"]


def test_target_stops_versions_but_keeps_later_ones_pending(tmp_path):
    plan = plan_migrate(write(tmp_path, FILES), [], target="1.1")
    assert scripts(plan.steps) == ["V1__one.sql", "V1.1__one_b.sql", "R__view.sql"]
    assert "V10__ten.sql" in scripts(plan.pending)


def test_repeatable_runs_again_only_when_its_checksum_changes(tmp_path):
    files = write(tmp_path, FILES)
    history = [row(1, "1", "V1__one.sql", FILES["V1__one.sql"]),
               row(2, None, "R__view.sql", FILES["R__view.sql"], "repeatable", description="view")]  # fmt: skip
    assert "R__view.sql" not in scripts(plan_migrate(files, history).steps)
    (tmp_path / "R__view.sql").write_text("CREATE VIEW v AS SELECT 2;")
    assert "R__view.sql" in scripts(plan_migrate(load_migrations(str(tmp_path)), history).steps)


def test_edited_applied_file_is_a_problem_naming_it(tmp_path):
    files = write(tmp_path, FILES)
    history = [row(1, "1", "V1__one.sql", "CREATE TABLE one (id bigint);")]
    problems = plan_migrate(files, history).problems
    assert len(problems) == 1 and problems[0].startswith("V1__one.sql changed after it was applied")


def test_missing_applied_file_is_a_problem_naming_it(tmp_path):
    files = write(tmp_path, FILES)
    history = [row(1, "0.5", "V0.5__gone.sql", "SELECT 1;")]
    problems = plan_migrate(files, history).problems
    assert problems == [
        "version 0.5 (V0.5__gone.sql) is applied but its file is missing from migrations_path: restore the file"
    ]


def test_pending_version_below_current_needs_out_of_order(tmp_path):
    files = write(tmp_path, FILES)
    history = [row(1, "1", "V1__one.sql", FILES["V1__one.sql"]), row(2, "2", "V2__two.sql", FILES["V2__two.sql"])]
    plan = plan_migrate(files, history)
    assert any(p.startswith("V1.1__one_b.sql is below the current version 2") for p in plan.problems)
    allowed = plan_migrate(files, history, out_of_order=True)
    assert allowed.problems == []
    assert scripts(allowed.steps) == ["V1.1__one_b.sql", "V10__ten.sql", "R__view.sql"]


def test_target_below_current_points_to_rollback(tmp_path):
    files = write(tmp_path, FILES)
    history = [row(1, "1", "V1__one.sql", FILES["V1__one.sql"]), row(2, "2", "V2__two.sql", FILES["V2__two.sql"])]
    plan = plan_migrate(files, history, target="1", out_of_order=True)
    assert any("target 1 is below the current version 2" in p for p in plan.problems)


def test_failed_non_transactional_row_blocks_the_next_run(tmp_path):
    files = write(tmp_path, FILES)
    history = [row(1, "1", "V1__one.sql", FILES["V1__one.sql"], success=False)]
    problems = plan_migrate(files, history).problems
    assert problems and problems[0].startswith("V1__one.sql (version 1) did not complete on an earlier run")
    assert 'DELETE FROM "conveyor_schema_history" WHERE installed_rank = 1;' in problems[0]


def test_undo_goes_newest_first_and_undone_versions_become_pending(tmp_path):
    files = write(tmp_path, FILES)
    history = [
        row(1, "1", "V1__one.sql", FILES["V1__one.sql"]),
        row(2, "2", "V2__two.sql", FILES["V2__two.sql"]),
        row(3, "10", "V10__ten.sql", FILES["V10__ten.sql"]),
    ]
    plan = plan_undo(files, history, "1", {}, {})
    assert plan.problems == []
    assert scripts(plan.steps) == ["U10__ten.sql", "U2__two.sql"]
    history += [row(4, "10", "U10__ten.sql", FILES["U10__ten.sql"], "undo")]
    assert replay(history).current.text == "2"
    assert "V10__ten.sql" in scripts(plan_migrate(files, history).pending)


def test_undo_without_an_undo_file_is_a_problem(tmp_path):
    files = write(tmp_path, FILES)
    history = [row(1, "1", "V1__one.sql", FILES["V1__one.sql"])]
    plan = plan_undo(files, history, "0", {}, {})
    assert plan.problems[0].startswith("version 1 (V1__one.sql) has no undo file")


def test_undo_needs_an_explicit_target(tmp_path):
    with pytest.raises(ConfigurationError, match="state rolled_back needs a target version"):
        plan_undo(write(tmp_path, FILES), [], "latest")


def test_baseline_skips_older_files_and_only_fits_an_empty_history(tmp_path):
    files = write(tmp_path, FILES)
    assert plan_baseline([], "2") == (True, [])
    history = [row(1, "2", "<< Baseline >>", type_="baseline")]
    assert plan_baseline(history, "2") == (False, [])
    plan = plan_migrate(files, history)
    assert plan.problems == []
    assert scripts(plan.steps) == ["V10__ten.sql", "R__view.sql"]
    needed, problems = plan_baseline([row(1, "1", "V1__one.sql", FILES["V1__one.sql"])], "3")
    assert not needed and "already has applied migrations" in problems[0]
