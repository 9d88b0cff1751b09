#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: db_migrate
short_description: Apply versioned SQL migrations to SQLite or PostgreSQL
version_added: 0.1.0
description:
  - Applies C(V<version>__<description>.sql) files in version order, then C(R__<description>.sql) repeatable files
    whose content changed, and records each one in a history table (default C(conveyor_schema_history)).
  - Rolls back with C(U<version>__<description>.sql) undo files, and baselines an existing schema.
  - Everything is validated before anything runs - changed applied files (checksum), missing applied files,
    duplicate versions, versions below the current one, unknown placeholders. Any problem fails the task and
    nothing is applied.
  - Each migration runs in its own transaction; a file whose first lines hold the comment
    C(-- conveyor:no-transaction) runs statement by statement outside a transaction
    (for PostgreSQL C(CREATE INDEX CONCURRENTLY)).
  - Concurrent runs against one database apply each migration exactly once (PostgreSQL advisory lock,
    SQLite exclusive lock file C(<database>.migrate.lock)).
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: Reads the history and reports what would run; creates nothing, not even the history table.
  diff_mode:
    support: full
    description: Returns the SQL that runs (or would run) as C(diff.prepared); secret placeholders are masked.
extends_documentation_fragment:
  - conveyor.cicd.database
options:
  history_table:
    description: Name of the history table (letters, digits and underscores).
    type: str
    default: conveyor_schema_history
  history_schema:
    description: PostgreSQL schema of the history table, created if missing. Defaults to C(public).
    type: str
  placeholders:
    description: Values for C(${name}) placeholders in the files. C($${name}) stays a literal C(${name}).
    type: dict
    default: {}
  secret_placeholders:
    description: Placeholder values that are secret; never shown in results or diffs.
    type: dict
    default: {}
  migrations_path:
    description: Directory holding the migration files (searched recursively for C(*.sql)).
    type: path
  state:
    description:
      - V(migrated) applies pending migrations up to O(target).
      - V(rolled_back) applies undo files, newest first, until the current version is O(target).
      - V(baselined) records O(baseline_version) as applied, for a schema that existed before migrations.
    type: str
    choices: [migrated, rolled_back, baselined]
    default: migrated
  target:
    description:
      - The version to migrate up to, or V(latest). With O(state=rolled_back), the version to roll back to
        (required; V(0) undoes every migration).
    type: str
    default: latest
  baseline_version:
    description: The version the existing schema is at; required with O(state=baselined).
    type: str
  baseline_description:
    description: Description recorded with the baseline.
    type: str
    default: << Baseline >>
  out_of_order:
    description: Apply pending versions below the current version instead of failing.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another run's migration lock before failing. On SQLite it is also how long a statement
        waits for a lock another connection (the application, say) holds on the database file.
    type: int
    default: 60
  installed_by:
    description: Name recorded in C(installed_by). Defaults to the database user (PostgreSQL) or the OS user.
    type: str
requirements:
  - psycopg 3 (C(pip install psycopg[binary])) on the target host for O(engine=postgresql).
notes:
  - The history table columns are installed_rank, version, description, type (versioned, repeatable, undo,
    baseline), script, checksum (sha256 of the file with line endings normalised), installed_by, installed_on,
    execution_time_ms and success.
seealso:
  - module: conveyor.cicd.db_migrate_info
"""

EXAMPLES = r"""
- name: Apply the application's migrations to a local SQLite database
  conveyor.cicd.db_migrate:
    database: /srv/app/shared/app.db
    migrations_path: /srv/app/current/migrations

- name: Apply migrations to PostgreSQL up to version 2
  conveyor.cicd.db_migrate:
    engine: postgresql
    login_host: db.example.com
    login_user: app
    login_password: "{{ vault_app_db_password }}"
    db: app
    migrations_path: /srv/app/current/migrations
    target: "2"
    placeholders:
      app_schema: public
    secret_placeholders:
      reporting_password: "{{ vault_reporting_password }}"

- name: Roll back to version 1 with the undo files
  conveyor.cicd.db_migrate:
    engine: postgresql
    dsn: "{{ vault_app_dsn }}"
    migrations_path: /srv/app/current/migrations
    state: rolled_back
    target: "1"

- name: Start tracking a database that already has the version 3 schema
  conveyor.cicd.db_migrate:
    engine: postgresql
    dsn: "{{ vault_app_dsn }}"
    state: baselined
    baseline_version: "3"
"""

RETURN = r"""
applied:
  description: Migrations this run applied (undo files included), in order. Empty in check mode.
  returned: always
  type: list
  elements: dict
  sample: [{version: "2", description: add item price, type: versioned, script: V2__add_item_price.sql,
            checksum: 9f2c..., execution_time_ms: 12}]
pending:
  description: Migrations not applied after this run (in check mode, everything pending now).
  returned: always
  type: list
  elements: dict
planned:
  description: The migrations a run would execute, in order (what C(applied) will hold).
  returned: in check mode, when state is migrated or rolled_back
  type: list
  elements: dict
current_version:
  description: The highest applied version after the run (null when none).
  returned: always
  type: str
  sample: "2"
database:
  description: Where the migrations went, without credentials.
  returned: always
  type: str
  sample: postgresql://app@db.example.com:5432/app
engine:
  description: The engine used.
  returned: always
  type: str
history_table:
  description: The history table name.
  returned: always
  type: str
problems:
  description: Every validation problem, when the task failed because the files and the history disagree.
  returned: on validation failure
  type: list
  elements: str
failed_script:
  description: The migration file that failed.
  returned: when a migration failed
  type: str
failed_line:
  description: The line of the failing statement in that file, where the database reports it.
  returned: when a migration failed
  type: int
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.engine import (
    MigrationFailed,
    connection_argument_spec,
    driver_from_params,
    migrate,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.postgresql import PSYCOPG_IMPORT_ERROR
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module: ConveyorModule) -> dict:
    params = module.params
    if params["engine"] == "postgresql":
        module.require_library("psycopg", PSYCOPG_IMPORT_ERROR, "psycopg[binary]")
    if params["state"] != "baselined" and not params["migrations_path"]:
        module.fail_json(msg="migrations_path is required: give the directory that holds the V*__*.sql files")
    driver = driver_from_params(params)
    try:
        return migrate(
            driver,
            params["migrations_path"],
            state=params["state"],
            target=params["target"],
            out_of_order=params["out_of_order"],
            baseline_version=params["baseline_version"],
            baseline_description=params["baseline_description"],
            placeholders=params["placeholders"],
            secret_placeholders=params["secret_placeholders"],
            lock_timeout=params["lock_timeout"],
            installed_by=params["installed_by"],
            check_mode=module.check_mode,
            want_sql=module._diff,
        )
    except MigrationFailed as exc:  # earlier migrations of the run stay applied: report them and changed
        details = dict(exc.details)
        changed = details.pop("changed", False) or bool(details.get("applied"))
        module.fail_json(msg=exc.msg, changed=changed, **details)


MODULE_SPEC = module_spec(
    dict(
        migrations_path=dict(type="path"),
        state=dict(type="str", default="migrated", choices=["migrated", "rolled_back", "baselined"]),
        target=dict(type="str", default="latest"),
        baseline_version=dict(type="str"),
        baseline_description=dict(type="str", default="<< Baseline >>"),
        out_of_order=dict(type="bool", default=False),
        lock_timeout=dict(type="int", default=60),
        installed_by=dict(type="str"),
    ),
    connection_argument_spec(),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
