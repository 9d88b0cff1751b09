"""The HTTP service: /healthz, /version, /metrics, /items."""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from sample_app import NAME, __version__
from sample_app.db import DatabaseError, TableMissingError
from sample_app.faults import ErrorSwitch
from sample_app.logs import log_event
from sample_app.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from sample_app.metrics import Metrics

JSON_CONTENT_TYPE = "application/json"


class App:
    """What the request handlers share: database, metrics, error switch, logger."""

    def __init__(
        self,
        database,
        logger: logging.Logger,
        error_switch: ErrorSwitch | None = None,
        commit: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.database = database
        self.logger = logger
        self.error_switch = error_switch or ErrorSwitch(0)
        self.commit = commit
        self.metrics = metrics or Metrics(version=__version__)

    def route(self, method: str, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for one request."""
        if path != "/metrics" and self.error_switch.should_fail():
            return _json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"error": f"injected failure (error rate {float(self.error_switch.rate):g})"},
            )
        handler = _ROUTES.get(path)
        if handler is None:
            return _json(HTTPStatus.NOT_FOUND, {"error": f"not found: {path}"})
        if method not in ("GET", "HEAD"):
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": f"{method} is not allowed"})
        return handler(self)

    def healthz(self) -> tuple[int, str, bytes]:
        try:
            self.database.ping()
        except DatabaseError as exc:
            return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "degraded", "database": str(exc)})
        return _json(HTTPStatus.OK, {"status": "ok", "database": "ok"})

    def version(self) -> tuple[int, str, bytes]:
        return _json(HTTPStatus.OK, {"name": NAME, "version": __version__, "commit": self.commit})

    def render_metrics(self) -> tuple[int, str, bytes]:
        return HTTPStatus.OK, METRICS_CONTENT_TYPE, self.metrics.render().encode("utf-8")

    def items(self) -> tuple[int, str, bytes]:
        try:
            rows = self.database.list_items()
        except TableMissingError as exc:
            return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
        except DatabaseError as exc:
            return _json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": f"database unavailable: {exc}"})
        return _json(HTTPStatus.OK, {"items": rows})


_ROUTES = {
    "/healthz": App.healthz,
    "/version": App.version,
    "/metrics": App.render_metrics,
    "/items": App.items,
}


def _json(status: int, payload: Any) -> tuple[int, str, bytes]:
    body = json.dumps(payload, default=str, sort_keys=True).encode("utf-8") + b"\n"
    return int(status), JSON_CONTENT_TYPE, body


class RequestHandler(BaseHTTPRequestHandler):
    server_version = f"{NAME}/{__version__}"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds an idle keep-alive connection may hold a thread
    server: AppServer

    def version_string(self) -> str:
        return self.server_version

    def _handle(self) -> None:
        started = time.perf_counter()
        app = self.server.app
        path = urlsplit(self.path).path
        try:
            status, content_type, body = app.route(self.command, path)
        except Exception:  # a bug must not kill the connection silently: answer and log it
            app.logger.exception("request failed", extra={"event": "error", "path": path})
            status, content_type, body = _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal error"})
        # Counted and logged before the answer goes out: a client that has its answer also sees it
        # in /metrics and in the log.
        duration = time.perf_counter() - started
        app.metrics.observe(path, status, duration)
        log_event(
            app.logger,
            "request",
            f"{self.command} {path} {status}",
            method=self.command,
            path=path,
            status=status,
            duration_ms=round(duration * 1000, 3),
            bytes=len(body),
            remote=self.client_address[0],
            user_agent=self.headers.get("User-Agent"),
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", "GET, HEAD")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def log_request(self, code="-", size="-") -> None:
        """Requests are logged as JSON by ``_handle``; http.server's own line is not wanted."""

    def log_error(self, fmt: str, *args) -> None:
        log_event(
            self.server.app.logger,
            "http_error",
            fmt % args,
            level=logging.WARNING,
            remote=self.client_address[0],
        )


class AppServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, RequestHandler)
