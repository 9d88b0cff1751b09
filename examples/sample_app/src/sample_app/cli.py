"""Command line: load the configuration, start the server, stop cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence

from sample_app import NAME, __version__
from sample_app.config import PROG, Config, ConfigError, load_config, redact_dsn
from sample_app.db import MissingDriverError, open_database
from sample_app.faults import ErrorSwitch
from sample_app.logs import log_event, setup_logging
from sample_app.server import App, AppServer

EXIT_OK = 0
EXIT_RUNTIME_ERROR = 1
EXIT_CONFIG_ERROR = 2


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def write_pid_file(path: str) -> None:
    """Write our pid atomically: readers never see an empty or half-written file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".sample-app-pid-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def remove_pid_file(path: str) -> None:
    """Remove the pid file, but only if it is still ours (a newer process may have replaced it)."""
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read().strip() != str(os.getpid()):
                return
        os.unlink(path)
    except OSError:
        pass


def run(config: Config) -> int:
    try:
        logger = setup_logging(config.log_dir)
    except OSError as exc:
        return _fail(f"cannot write logs to {config.log_dir}: {exc.strerror or exc}", EXIT_CONFIG_ERROR)
    try:
        database = open_database(config.database)
    except MissingDriverError as exc:
        return _fail(str(exc), EXIT_CONFIG_ERROR)

    app = App(
        database=database,
        logger=logger,
        error_switch=ErrorSwitch(config.error_rate),
        commit=config.commit,
    )
    # The pid file exists before the port opens: whoever sees the port open can read it.
    if config.pid_file:
        try:
            write_pid_file(config.pid_file)
        except OSError as exc:
            return _fail(f"cannot write pid file {config.pid_file}: {exc.strerror or exc}", EXIT_CONFIG_ERROR)
    try:
        server = AppServer((config.host, config.port), app)
    except OSError as exc:
        if config.pid_file:
            remove_pid_file(config.pid_file)
        return _fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", EXIT_RUNTIME_ERROR)

    def stop(signum, _frame) -> None:
        log_event(logger, "stopping", f"received {signal.Signals(signum).name}, shutting down")
        # shutdown() waits for serve_forever() to return, so it must not run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    host, port = server.server_address[:2]
    log_event(
        logger,
        "started",
        f"{NAME} {__version__} listening on http://{host}:{port}",
        version=__version__,
        commit=config.commit,
        host=host,
        port=port,
        database=redact_dsn(config.database),
        database_kind=database.kind,
        error_rate=float(config.error_rate),
        pid=os.getpid(),
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if config.pid_file:
            remove_pid_file(config.pid_file)
        log_event(logger, "stopped", f"{NAME} stopped")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = load_config(argv)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG_ERROR)
    return run(config)
