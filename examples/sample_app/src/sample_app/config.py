"""Configuration from command-line flags, each with an environment variable fallback."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

from sample_app import NAME, __version__

PROG = "sample-app"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_DATABASE = "sample_app.db"

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class ConfigError(ValueError):
    """A configuration value is wrong; the message says which one and how to fix it."""


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database: str = DEFAULT_DATABASE
    error_rate: Fraction = Fraction(0)
    log_dir: str | None = None
    pid_file: str | None = None
    commit: str | None = None

    @property
    def is_postgresql(self) -> bool:
        return is_postgresql_dsn(self.database)

    @property
    def sqlite_path(self) -> str:
        return sqlite_path(self.database)


def is_postgresql_dsn(database: str) -> bool:
    return database.startswith(POSTGRES_SCHEMES)


def sqlite_path(database: str) -> str:
    """The file path of a SQLite database given as a plain path or as ``sqlite:///path``."""
    if database.startswith("sqlite:///"):
        return database[len("sqlite:///") :]
    return database


def redact_dsn(database: str) -> str:
    """The database setting with any password replaced, safe to log."""
    if not is_postgresql_dsn(database):
        return database
    parts = urlsplit(database)
    if parts.password is None:
        return database
    userinfo, hostinfo = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, not usage text plus a message."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message} (see {PROG} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description=f"{NAME} {__version__}: health, version, metrics and items over HTTP.",
        epilog="Every flag falls back to the environment variable named in its help.",
    )
    parser.add_argument("--version", action="version", version=f"{NAME} {__version__}")
    parser.add_argument("--host", help=f"address to listen on (SAMPLE_APP_HOST, default {DEFAULT_HOST})")
    parser.add_argument("--port", help=f"TCP port, 0 picks a free one (SAMPLE_APP_PORT, default {DEFAULT_PORT})")
    parser.add_argument(
        "--database",
        help=f"SQLite file path or postgresql:// DSN (SAMPLE_APP_DATABASE, default {DEFAULT_DATABASE})",
    )
    parser.add_argument(
        "--error-rate",
        help="share of requests answered with HTTP 500, 0.0-1.0, deterministic (SAMPLE_APP_ERROR_RATE, default 0)",
    )
    parser.add_argument(
        "--log-dir",
        help="write JSON log lines to LOG_DIR/access.log instead of stderr (SAMPLE_APP_LOG_DIR)",
    )
    parser.add_argument("--pid-file", help="write the process id here while running (SAMPLE_APP_PID_FILE)")
    return parser


def _pick(flag_value: str | None, environ: Mapping[str, str], env_name: str, flag: str):
    """The value and where it came from (for error messages): the flag wins over the environment."""
    if flag_value is not None:
        return flag_value, flag
    value = environ.get(env_name)
    if value is not None and value != "":
        return value, env_name
    return None, None


def _port(value: str, source: str) -> int:
    try:
        port = int(value.strip())
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"{source}={value!r} is not a TCP port: use a number from 0 to 65535")
    return port


def _error_rate(value: str, source: str) -> Fraction:
    try:
        # Fraction of the decimal text is exact: 0.1 stays 1/10, so the failure pattern is exact.
        rate = Fraction(value.strip())
    except (ValueError, ZeroDivisionError):
        rate = Fraction(-1)
    if not 0 <= rate <= 1:
        raise ConfigError(
            f"{source}={value!r} is not an error rate: use a number from 0.0 to 1.0 (0.5 = every second request fails)"
        )
    return rate


def _database(value: str, source: str) -> str:
    value = value.strip()
    if not value:
        raise ConfigError(f"{source} is empty: give a SQLite file path or a postgresql:// DSN")
    if is_postgresql_dsn(value):
        parts = urlsplit(value)
        if not parts.hostname and "host=" not in parts.query:
            raise ConfigError(f"{source} has no host: use postgresql://user:password@host:port/db")
    elif "://" in value and not value.startswith("sqlite:///"):
        scheme = value.split("://", 1)[0]
        raise ConfigError(
            f"{source} uses an unsupported scheme {scheme!r}: give a SQLite file path, "
            "sqlite:///path or a postgresql:// DSN"
        )
    return value


def load_config(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Build the configuration; raises ConfigError with one line saying what to fix."""
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(list(argv) if argv is not None else None)

    host = _pick(args.host, environ, "SAMPLE_APP_HOST", "--host")[0]
    port, port_source = _pick(args.port, environ, "SAMPLE_APP_PORT", "--port")
    database, db_source = _pick(args.database, environ, "SAMPLE_APP_DATABASE", "--database")
    rate, rate_source = _pick(args.error_rate, environ, "SAMPLE_APP_ERROR_RATE", "--error-rate")
    log_dir = _pick(args.log_dir, environ, "SAMPLE_APP_LOG_DIR", "--log-dir")[0]
    pid_file = _pick(args.pid_file, environ, "SAMPLE_APP_PID_FILE", "--pid-file")[0]

    if host is not None and not host.strip():
        raise ConfigError("--host is empty: give an address such as 127.0.0.1 or 0.0.0.0")
    return Config(
        host=host.strip() if host else DEFAULT_HOST,
        port=_port(port, port_source) if port is not None else DEFAULT_PORT,
        database=_database(database, db_source) if database is not None else DEFAULT_DATABASE,
        error_rate=_error_rate(rate, rate_source) if rate is not None else Fraction(0),
        log_dir=log_dir or None,
        pid_file=pid_file or None,
        commit=environ.get("SAMPLE_APP_COMMIT") or None,
    )
