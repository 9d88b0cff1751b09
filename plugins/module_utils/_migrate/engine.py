# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a plan against a database: validate everything first, then one transaction per migration.

``migrate`` serves conveyor.cicd.db_migrate and ``inspect`` serves db_migrate_info; both take
a driver (see ``driver_from_params``) and return plain dicts.
"""

from __future__ import annotations

import contextlib
import time

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate import postgresql, sqlite
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.driver import (
    DEFAULT_LOCK_TIMEOUT,
    Driver,
    HistoryRow,
    StatementError,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.files import (
    BASELINE,
    Version,
    load_migrations,
    render,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.planner import (
    LATEST,
    Plan,
    Step,
    failed_row_problem,
    parse_target,
    plan_baseline,
    plan_migrate,
    plan_undo,
    replay,
)

STATES = ("migrated", "rolled_back", "baselined")
DRIVERS = {"sqlite": sqlite.from_params, "postgresql": postgresql.from_params}
DEFAULT_BASELINE_DESCRIPTION = "<< Baseline >>"


class ValidationError(ConveyorError):
    """The files and the history disagree; nothing was run."""


class MigrationFailed(ConveyorError):
    """A migration failed; those before it in the same run stay applied."""


def driver_from_params(params: dict) -> Driver:
    engine = params.get("engine") or "sqlite"
    if engine not in DRIVERS:
        raise ConfigurationError(f"engine '{engine}' is not supported: use one of {', '.join(sorted(DRIVERS))}")
    return DRIVERS[engine](params)


def _version_text(version: Version | None) -> str | None:
    return str(version) if version is not None else None


def _raise_problems(problems: list[str], **details) -> None:
    if not problems:
        return
    more = f" (and {len(problems) - 1} more problem(s), see 'problems')" if len(problems) > 1 else ""
    raise ValidationError(f"{problems[0]}{more}; nothing was applied", problems=problems, **details)


def _preview(steps: list[Step], placeholders, secrets) -> str:
    chunks = []
    for step in steps:
        item = step.migration
        header = f"-- {step.kind} {item.script}" + ("" if item.transactional else " (outside a transaction)")
        body = render(item.text, item.script, placeholders, secrets, mask=True)
        chunks.append(f"{header}\n{body.rstrip()}\n")
    return "\n".join(chunks)


def _history_row(step: Step, installed_by: str, elapsed_ms: int, success: bool) -> HistoryRow:
    item = step.migration
    return HistoryRow(
        installed_rank=0,
        version=_version_text(item.version),
        description=item.description,
        type=step.kind,
        script=item.script,
        checksum=item.checksum,
        installed_by=installed_by,
        installed_on=None,
        execution_time_ms=elapsed_ms,
        success=success,
    )


def _applied_entry(step: Step, elapsed_ms: int) -> dict:
    item = step.migration
    return {
        "version": _version_text(item.version),
        "description": item.description,
        "type": step.kind,
        "script": item.script,
        "checksum": item.checksum,
        "execution_time_ms": elapsed_ms,
    }


def _run_step(driver: Driver, step: Step, installed_by: str, placeholders, secrets) -> dict:
    item = step.migration
    sql = render(item.text, item.script, placeholders, secrets)
    if item.transactional:
        started = time.monotonic()
        try:
            driver.run_in_transaction(sql, _history_row(step, installed_by, 0, True))  # the driver times the SQL
        except StatementError as exc:
            raise _failed(item, exc, "it was rolled back and not recorded") from None
        return _applied_entry(step, int((time.monotonic() - started) * 1000))
    # Recorded as not successful, and committed, before the first statement: a run killed half-way leaves this
    # row behind, so the next run stops instead of applying the file again on top of what it already did.
    rank = driver.insert_history(_history_row(step, installed_by, 0, False))
    started = time.monotonic()
    try:
        driver.run_statements(sql)
    except StatementError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        with contextlib.suppress(ConveyorError):  # the row already says success false; only its time is lost
            driver.finish_history(rank, elapsed, False)
        failure = _failed(
            item,
            exc,
            "it ran outside a transaction and may be partly applied; it is recorded with success false "
            f"(installed_rank {rank})",
        )
        failure.details["changed"] = True  # statements before the failure stay, and so does the history row
        raise failure from None
    elapsed = int((time.monotonic() - started) * 1000)
    try:
        driver.finish_history(rank, elapsed, True)
    except ConveyorError as exc:
        raise MigrationFailed(
            f"{item.script} ran completely, but recording its success failed: {exc.msg}; its history row "
            f"(installed_rank {rank}) still says success false, so the next run stops until you check the schema "
            f"and delete that row",
            failed_script=item.script,
            changed=True,
        ) from None
    return _applied_entry(step, elapsed)


def _failed(item, exc: StatementError, outcome: str) -> MigrationFailed:
    where = f" at line {exc.line}" if exc.line else ""
    return MigrationFailed(
        f"{item.script} failed{where}: {exc.message} ({outcome})",
        failed_script=item.script,
        failed_line=exc.line,
        database_message=exc.message,
    )


def _result(driver: Driver, plan_state, pending, applied, changed, extra=None) -> dict:
    result = {
        "changed": changed,
        "applied": applied,
        "pending": [s.as_dict() for s in pending],
        "current_version": _version_text(plan_state.current),
        "engine": driver.engine,
        "database": driver.describe(),
        "history_table": driver.history_table,
    }
    if extra:
        result.update(extra)
    return result


def migrate(driver: Driver, migrations_path: str | None, state: str = "migrated", target=LATEST,
            out_of_order: bool = False, baseline_version=None, baseline_description=None, placeholders=None,
            secret_placeholders=None, lock_timeout: float = 60, installed_by: str | None = None,
            check_mode: bool = False, want_sql: bool = False) -> dict:  # fmt: skip
    """Bring the database to ``state``; in check mode only read and report what would run."""
    if state not in STATES:
        raise ConfigurationError(f"state '{state}' is not valid: use one of {', '.join(STATES)}")
    if lock_timeout is None or float(lock_timeout) < 0:
        raise ConfigurationError("lock_timeout must be a number of seconds, 0 or more")
    placeholders, secrets = placeholders or {}, secret_placeholders or {}
    target_version = parse_target(target)  # bad input fails here, before any connection
    if state == "rolled_back" and target_version is None:
        raise ConfigurationError("state rolled_back needs a target version to roll back to (use '0' to undo all)")
    if state == "baselined":
        plan_baseline([], baseline_version)
    files = load_migrations(migrations_path) if state != "baselined" or migrations_path else None
    with driver:
        driver.open(read_only=check_mode, timeout=float(lock_timeout))
        if check_mode:
            return _plan_only(driver, files, state, target, out_of_order, baseline_version, baseline_description,
                              placeholders, secrets, want_sql)  # fmt: skip
        with driver.lock(float(lock_timeout)):
            history = driver.read_history()  # read under the lock: another run may just have applied
            who = installed_by or driver.current_user()
            if state == "baselined":
                return _baseline(driver, history, baseline_version, baseline_description, who)
            plan = _plan(driver, files, history, state, target, out_of_order, placeholders, secrets)
            _raise_problems(plan.problems, current_version=_version_text(plan.state.current))
            if plan.steps:
                driver.ensure_history()
            applied: list[dict] = []
            for step in plan.steps:
                try:
                    applied.append(_run_step(driver, step, who, placeholders, secrets))
                except ConveyorError as exc:  # a history write failing too: what went in before it is reported
                    failure = exc if isinstance(exc, MigrationFailed) else MigrationFailed(exc.msg, **exc.details)
                    failure.details.update(applied=applied, current_version=_current(driver))
                    failure.msg += f"; {len(applied)} migration(s) applied earlier in this run stay applied"
                    raise failure from None
            final, remaining = plan.state, plan.pending
            if plan.steps:
                after = driver.read_history()
                final, remaining = replay(after), plan_migrate(files, after, LATEST, True).pending
            extra = {"diff": {"prepared": _preview(plan.steps, placeholders, secrets)}} if want_sql else None
            return _result(driver, final, remaining, applied, bool(applied), extra)


def _current(driver: Driver) -> str | None:
    try:
        return _version_text(replay(driver.read_history()).current)
    except ConveyorError:
        return None


def _plan(driver, files, history, state, target, out_of_order, placeholders, secrets) -> Plan:
    if state == "rolled_back":
        return plan_undo(files, history, target, placeholders, secrets, driver.qualified_table)
    return plan_migrate(files, history, target, out_of_order, placeholders, secrets, driver.qualified_table)


def _plan_only(driver, files, state, target, out_of_order, baseline_version, baseline_description, placeholders,
               secrets, want_sql) -> dict:  # fmt: skip
    history = driver.read_history()
    if state == "baselined":
        needed, problems = plan_baseline(history, baseline_version)
        _raise_problems(problems)
        result = _result(driver, replay(history), [], [], needed)
        if needed:
            result["current_version"] = str(Version(str(baseline_version)))
        return result
    plan = _plan(driver, files, history, state, target, out_of_order, placeholders, secrets)
    _raise_problems(plan.problems, current_version=_version_text(plan.state.current))
    extra = {"planned": [s.as_dict() for s in plan.steps]}
    if want_sql:
        extra["diff"] = {"prepared": _preview(plan.steps, placeholders, secrets)}
    return _result(driver, plan.state, plan.pending, [], bool(plan.steps), extra)


def _baseline(driver, history, baseline_version, baseline_description, who) -> dict:
    needed, problems = plan_baseline(history, baseline_version)
    _raise_problems(problems)
    if needed:
        version = Version(str(baseline_version))
        driver.ensure_history()
        driver.insert_history(
            HistoryRow(0, str(version), baseline_description or DEFAULT_BASELINE_DESCRIPTION, BASELINE,
                       baseline_description or DEFAULT_BASELINE_DESCRIPTION, None, who, None, 0, True)
        )  # fmt: skip
        history = driver.read_history()
    return _result(driver, replay(history), [], [], needed)


def _row_entry(row: HistoryRow) -> dict:
    return {
        "version": row.version,
        "description": row.description,
        "type": row.type,
        "script": row.script,
        "checksum": row.checksum,
        "installed_rank": row.installed_rank,
        "installed_by": row.installed_by,
        "installed_on": row.installed_on,
        "execution_time_ms": row.execution_time_ms,
    }


def inspect(driver: Driver, migrations_path: str | None = None, target=LATEST, out_of_order: bool = False,
            placeholders=None, secret_placeholders=None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> dict:  # fmt: skip
    """Current version, applied and pending migrations and validation problems; changes nothing."""
    with driver:
        driver.open(read_only=True, timeout=float(lock_timeout))
        exists = driver.history_exists()
        history = driver.read_history()
    state = replay(history)
    applied = [
        _row_entry(row)
        for row in sorted(
            list(state.versions.values()) + list(state.repeatables.values()), key=lambda r: r.installed_rank
        )
    ]
    result = {
        "changed": False,
        "engine": driver.engine,
        "database": driver.describe(),
        "history_table": driver.history_table,
        "history_exists": exists,
        "current_version": _version_text(state.current),
        "applied": applied,
        # success false: a no-transaction migration that failed, was interrupted, or is running right now
        "failed_migrations": [_row_entry(row) for row in state.failed],
        "pending": [],
        "problems": [failed_row_problem(row, driver.qualified_table) for row in state.failed],
    }
    if migrations_path:
        files = load_migrations(migrations_path)
        plan = plan_migrate(files, history, target, out_of_order, placeholders, secret_placeholders,
                            driver.qualified_table)  # fmt: skip
        result["pending"] = [s.as_dict() for s in plan.pending]
        result["problems"] = plan.problems
    return result


def connection_argument_spec() -> dict:
    """Options shared by db_migrate and db_migrate_info (the modules document them)."""
    return dict(
        engine=dict(type="str", default="sqlite", choices=sorted(DRIVERS)),
        database=dict(type="path"),
        login_host=dict(type="str"),
        login_port=dict(type="int", default=5432),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        db=dict(type="str"),
        dsn=dict(type="str", no_log=True),
        ssl_mode=dict(type="str", choices=list(postgresql.SSL_MODES)),
        connect_timeout=dict(type="int", default=10),
        history_table=dict(type="str", default="conveyor_schema_history"),
        history_schema=dict(type="str"),
        placeholders=dict(type="dict", default={}),
        secret_placeholders=dict(type="dict", default={}, no_log=True),
    )
