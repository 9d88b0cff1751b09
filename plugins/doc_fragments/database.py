# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by db_migrate and db_migrate_info.
    DOCUMENTATION = r"""
options:
  engine:
    description: The database engine.
    type: str
    choices: [postgresql, sqlite]
    default: sqlite
  database:
    description: Path of the SQLite database file (created by the first migration). Required for C(engine=sqlite).
    type: path
  login_host:
    description: PostgreSQL host. Defaults to C(localhost).
    type: str
  login_port:
    description: PostgreSQL port.
    type: int
    default: 5432
  login_user:
    description: PostgreSQL user.
    type: str
  login_password:
    description: PostgreSQL password.
    type: str
  db:
    description: PostgreSQL database name. Required for C(engine=postgresql) unless O(dsn) is given.
    type: str
  dsn:
    description:
      - PostgreSQL connection string (C(postgresql://user:password@host:port/db) or C(host=... dbname=...)),
        instead of the C(login_*) options and O(db). Treated as a secret.
    type: str
  ssl_mode:
    description: PostgreSQL SSL mode (libpq C(sslmode)); the libpq default (C(prefer)) when not set.
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  connect_timeout:
    description: Seconds to wait for the PostgreSQL connection.
    type: int
    default: 10
"""
