# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: from the files on disk and the history table, what is applied, pending and wrong.

Pure functions of their inputs: no database, no Ansible. The history is replayed in
installed_rank order: a versioned or baseline row applies a version, an undo row removes it,
a repeatable row records the checksum that was last applied for its description.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.driver import DEFAULT_HISTORY_TABLE
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.files import (
    BASELINE,
    REPEATABLE,
    UNDO,
    VERSIONED,
    MigrationFile,
    MigrationSet,
    Version,
    missing_placeholders,
)

LATEST = "latest"


@dataclass
class AppliedState:
    versions: dict = field(default_factory=dict)  # Version -> HistoryRow (versioned or baseline)
    repeatables: dict = field(default_factory=dict)  # description -> HistoryRow
    failed: list = field(default_factory=list)
    baseline: Version | None = None

    @property
    def current(self) -> Version | None:
        return max(self.versions) if self.versions else None


@dataclass
class Step:
    """One migration to run: the file, and the type it is recorded with."""

    kind: str  # versioned, repeatable or undo
    migration: MigrationFile

    def as_dict(self) -> dict:
        item = self.migration
        return {
            "version": str(item.version) if item.version is not None else None,
            "description": item.description,
            "type": self.kind,
            "script": item.script,
            "checksum": item.checksum,
            "transactional": item.transactional,
        }


@dataclass
class Plan:
    steps: list[Step]
    problems: list[str]
    state: AppliedState
    pending: list[Step]  # everything pending, including versions above the target


def replay(history) -> AppliedState:
    state = AppliedState()
    for row in sorted(history, key=lambda r: r.installed_rank):
        if not row.success:
            state.failed.append(row)
            continue
        if row.type in (VERSIONED, BASELINE) and row.version is not None:
            version = Version(row.version)
            state.versions[version] = row
            if row.type == BASELINE:
                state.baseline = version
        elif row.type == UNDO and row.version is not None:
            state.versions.pop(Version(row.version), None)
        elif row.type == REPEATABLE:
            state.repeatables[row.description] = row
    return state


def parse_target(target) -> Version | None:
    """None for 'latest', else the Version."""
    if target is None or str(target).strip().lower() in ("", LATEST):
        return None
    return Version(str(target))


def failed_row_problem(row, history_table: str = f'"{DEFAULT_HISTORY_TABLE}"') -> str:
    """What to do about a history row with success false (``history_table`` as SQL names it)."""
    if row.type == UNDO:
        what = f"undo of version {row.version}"
    else:
        what = f"version {row.version}" if row.version else f"{row.type} '{row.description}'"
    return (
        f"{row.script} ({what}) did not complete on an earlier run: it ran outside a transaction and failed or "
        f"was interrupted, so it may be partly applied; repair the schema by hand, then delete its history row "
        f"with DELETE FROM {history_table} WHERE installed_rank = {row.installed_rank}; and run again"
    )


def _history_problems(files: MigrationSet, state: AppliedState, history_table: str) -> list[str]:
    problems = list(files.problems)
    by_version = {m.version: m for m in files.versioned}
    for row in state.failed:
        problems.append(failed_row_problem(row, history_table))
    for version, row in sorted(state.versions.items()):
        if row.type == BASELINE:
            continue
        item = by_version.get(version)
        if item is None:
            problems.append(
                f"version {version} ({row.script}) is applied but its file is missing from migrations_path: "
                "restore the file"
            )
        elif row.checksum and item.checksum != row.checksum:
            problems.append(
                f"{item.script} changed after it was applied (checksum {row.checksum[:12]}... in the history, "
                f"{item.checksum[:12]}... on disk): restore the applied content and put the change in a new migration"
            )
    return problems


def _pending_versioned(files: MigrationSet, state: AppliedState) -> list[MigrationFile]:
    return [
        m
        for m in files.versioned
        if m.version not in state.versions and (state.baseline is None or m.version > state.baseline)
    ]


def pending_repeatables(files: MigrationSet, state: AppliedState) -> list[MigrationFile]:
    out = []
    for item in files.repeatable:
        row = state.repeatables.get(item.description)
        if row is None or row.checksum != item.checksum:
            out.append(item)
    return out


def _placeholder_problems(steps, placeholders, secrets) -> list[str]:
    problems = []
    for step in steps:
        for name in missing_placeholders(step.migration, placeholders, secrets):
            problems.append(
                f"{step.migration.script} uses the placeholder ${{{name}}} which has no value: "
                f"add '{name}' to placeholders or secret_placeholders"
            )
    return problems


def plan_migrate(files: MigrationSet, history, target=LATEST, out_of_order=False, placeholders=None,
                 secrets=None, history_table: str = f'"{DEFAULT_HISTORY_TABLE}"') -> Plan:  # fmt: skip
    state = replay(history)
    problems = _history_problems(files, state, history_table)
    target_version = parse_target(target)
    current = state.current
    pending_files = _pending_versioned(files, state)
    pending = [Step(VERSIONED, m) for m in pending_files] + [
        Step(REPEATABLE, m) for m in pending_repeatables(files, state)
    ]
    if target_version is not None and current is not None and target_version < current:
        problems.append(
            f"target {target_version} is below the current version {current}: "
            "use state rolled_back to undo migrations, or raise target"
        )
    late = [m for m in pending_files if current is not None and m.version < current]
    if late and not out_of_order:
        names = ", ".join(m.script for m in late)
        problems.append(
            f"{names} {'is' if len(late) == 1 else 'are'} below the current version {current} and never applied: "
            "set out_of_order: true to apply them, or give them versions above the current one"
        )
    runnable = [m for m in pending_files if target_version is None or m.version <= target_version]
    steps = [Step(VERSIONED, m) for m in runnable] + [Step(REPEATABLE, m) for m in pending_repeatables(files, state)]
    problems += _placeholder_problems(steps, placeholders, secrets)
    return Plan(steps=steps, problems=problems, state=state, pending=pending)


def plan_undo(files: MigrationSet, history, target, placeholders=None, secrets=None,
              history_table: str = f'"{DEFAULT_HISTORY_TABLE}"') -> Plan:  # fmt: skip
    state = replay(history)
    problems = _history_problems(files, state, history_table)
    target_version = parse_target(target)
    if target_version is None:
        raise ConfigurationError(
            "state rolled_back needs a target version to roll back to (use '0' to undo every migration)"
        )
    steps = []
    for version in sorted((v for v in state.versions if v > target_version), reverse=True):
        row = state.versions[version]
        if row.type == BASELINE:
            problems.append(
                f"cannot roll back below the baseline version {version}: choose a target of {version} or above"
            )
            break
        undo = files.undo.get(version)
        if undo is None:
            problems.append(
                f"version {version} ({row.script}) has no undo file: add U{version}__<description>.sql "
                f"or choose a target of {version} or above"
            )
            continue
        steps.append(Step(UNDO, undo))
    problems += _placeholder_problems(steps, placeholders, secrets)
    pending = [Step(VERSIONED, m) for m in _pending_versioned(files, state)]
    return Plan(steps=steps, problems=problems, state=state, pending=pending)


def plan_baseline(history, baseline_version) -> tuple[bool, list[str]]:
    """(needs a baseline row, problems): a baseline goes only into a history with no applied versions."""
    if baseline_version in (None, ""):
        raise ConfigurationError("state baselined needs baseline_version: the version the existing schema is at")
    version = Version(str(baseline_version))
    state = replay(history)
    if state.baseline is not None and state.baseline == version:
        return False, []
    if state.versions:
        return False, [
            f"cannot baseline at {version}: the history table already has applied migrations "
            f"(current version {state.current}); a baseline is only for a database without history"
        ]
    return True, []
