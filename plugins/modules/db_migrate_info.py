#!/usr/bin/python
# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: db_migrate_info
short_description: Report the migration state of a SQLite or PostgreSQL database
version_added: 0.1.0
description:
  - Returns the current version, the applied and pending migrations and every validation problem
    (changed applied files, missing files, duplicate versions, versions below the current one) without
    changing anything. Problems are reported, not raised, so a play can decide what to do with them.
  - Reads the history table written by M(conveyor.cicd.db_migrate); opens the database read-only.
author: conveyor.cicd maintainers (@conveyor-cicd)
attributes:
  check_mode:
    support: full
    description: The module never changes anything.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
extends_documentation_fragment:
  - conveyor.cicd.database
options:
  history_table:
    description: Name of the history table.
    type: str
    default: conveyor_schema_history
  history_schema:
    description: PostgreSQL schema of the history table. Defaults to C(public).
    type: str
  placeholders:
    description: Placeholder values, so that pending files using them are not reported as problems.
    type: dict
    default: {}
  secret_placeholders:
    description: Secret placeholder values (only their names matter here).
    type: dict
    default: {}
  migrations_path:
    description: Directory of the migration files. Without it only the history is reported.
    type: path
  target:
    description: The version a migration would go up to, or V(latest) (for the problems check).
    type: str
    default: latest
  out_of_order:
    description: Do not report pending versions below the current version as a problem.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds a read may wait while another connection holds a write lock on a SQLite database (a migration
        writing, or the application) before failing.
    type: int
    default: 60
requirements:
  - psycopg 3 (C(pip install psycopg[binary])) on the target host for O(engine=postgresql).
seealso:
  - module: conveyor.cicd.db_migrate
"""

EXAMPLES = r"""
- name: Read the migration state
  conveyor.cicd.db_migrate_info:
    database: /srv/app/shared/app.db
    migrations_path: /srv/app/current/migrations
  register: migration_state

- name: Stop before deploying when the migrations and the database disagree
  ansible.builtin.assert:
    that: migration_state.problems | length == 0
    fail_msg: "{{ migration_state.problems | join('; ') }}"
"""

RETURN = r"""
current_version:
  description: The highest applied version (null when none).
  returned: always
  type: str
  sample: "2"
applied:
  description: Applied migrations (versioned, baseline and the last run of each repeatable) in installed order.
  returned: always
  type: list
  elements: dict
  sample: [{version: "1", description: create items, type: versioned, script: V1__create_items.sql,
            checksum: 3a7b..., installed_rank: 1, installed_by: app, installed_on: "2025-01-01T10:00:00+00:00",
            execution_time_ms: 4}]
failed_migrations:
  description:
    - History rows with C(success) false, in installed order - a C(-- conveyor:no-transaction) migration that failed,
      was interrupted (its run was killed), or is running right now. A M(conveyor.cicd.db_migrate) run stops on
      any of them; each one is also in RV(problems) with the SQL that removes it once the schema is repaired.
  returned: always
  type: list
  elements: dict
  sample: [{version: "3", description: backfill, type: versioned, script: V3__backfill.sql, checksum: 9c1d...,
            installed_rank: 3, installed_by: app, installed_on: "2025-01-01T10:00:00+00:00", execution_time_ms: 0}]
pending:
  description: Migrations a run would apply (empty without O(migrations_path)).
  returned: always
  type: list
  elements: dict
problems:
  description: Validation problems; a db_migrate run would fail on any of them.
  returned: always
  type: list
  elements: str
history_exists:
  description: Whether the history table exists.
  returned: always
  type: bool
database:
  description: Where the database is, without credentials.
  returned: always
  type: str
engine:
  description: The engine used.
  returned: always
  type: str
history_table:
  description: The history table name.
  returned: always
  type: str
"""

from ansible_collections.conveyor.cicd.plugins.module_utils._argspec import module_spec
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.engine import (
    connection_argument_spec,
    driver_from_params,
    inspect,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.postgresql import PSYCOPG_IMPORT_ERROR
from ansible_collections.conveyor.cicd.plugins.module_utils._module import ConveyorModule


def run(module: ConveyorModule) -> dict:
    params = module.params
    if params["engine"] == "postgresql":
        module.require_library("psycopg", PSYCOPG_IMPORT_ERROR, "psycopg[binary]")
    return inspect(
        driver_from_params(params),
        params["migrations_path"],
        target=params["target"],
        out_of_order=params["out_of_order"],
        placeholders=params["placeholders"],
        secret_placeholders=params["secret_placeholders"],
        lock_timeout=params["lock_timeout"],
    )


MODULE_SPEC = module_spec(
    dict(
        migrations_path=dict(type="path"),
        target=dict(type="str", default="latest"),
        out_of_order=dict(type="bool", default=False),
        lock_timeout=dict(type="int", default=60),
    ),
    connection_argument_spec(),
    supports_check_mode=True,
)


def main():
    ConveyorModule(**MODULE_SPEC).run(run)


if __name__ == "__main__":
    main()
