"""The health_check engine against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import socket
import threading

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._health import health_check


class _App(http.server.BaseHTTPRequestHandler):
    answers: list = []  # (status, body) per request, the last one repeated
    seen: list = []

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Authorization")))
        status, body = self.answers[min(len(self.seen) - 1, len(self.answers) - 1)]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def app():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _App)
    _App.answers, _App.seen = [(200, {"version": "1.2.0"})], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def check(params, **kwargs):
    return health_check(dict({"delay": 0}, **params), sleep=lambda _s: None, **kwargs)


def test_needs_every_consecutive_pass(app):
    _server, url = app
    result = check(
        {"url": url + "/version", "json_field": "version", "json_value": "1.2.0", "successes": 3, "retries": 0}
    )
    assert result["healthy"] is True and result["attempts"] == 3 and result["status"] == 200
    assert result["changed"] is False and "failed" not in result and len(_App.seen) == 3


def test_the_first_failing_pass_fails_with_one_line(app):
    _server, url = app
    _App.answers = [(200, {"version": "1.2.0"}), (200, {"version": "1.1.0"})]
    result = check(
        {"url": url + "/version", "json_field": "version", "json_value": "1.2.0", "successes": 3, "retries": 0}
    )
    assert result["failed"] is True and result["healthy"] is False and result["attempts"] == 2
    assert result["msg"] == (
        f"{url}/version is not healthy after 2 attempts: JSON field 'version' is '1.1.0', expected '1.2.0'"
    )


def test_retries_wait_for_a_service_that_comes_up(app):
    _server, url = app
    _App.answers = [(503, {}), (503, {}), (200, {})]
    result = check({"url": url + "/healthz", "retries": 5})
    assert result["healthy"] is True and result["attempts"] == 3


def test_unhealthy_without_failing_and_credentials_never_returned(app):
    _server, url = app
    _App.answers = [(503, {})]
    secret_url = url.replace("http://", "http://probe:s3cret-pass@") + "/-/ready"
    result = check({"url": secret_url, "retries": 1}, fail=False)
    assert result["healthy"] is False and "failed" not in result and result["attempts"] == 2
    assert result["reason"] == "status 503, expected 200"
    assert "s3cret" not in json.dumps(result) and result["url"] == url + "/-/ready"
    assert _App.seen[0][1].startswith("Basic ")  # the userinfo went as basic authentication


def test_no_answer_is_a_reason():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = check({"url": f"http://127.0.0.1:{port}/", "retries": 0, "timeout": 2}, fail=False)
    assert result["healthy"] is False and result["status"] is None and result["reason"].startswith("no answer")


def test_a_command_probe(tmp_path):
    assert check({"command": ["true"], "retries": 0})["healthy"] is True
    result = check({"command": ["false"], "retries": 0})
    assert result["msg"] == "the health command is not healthy after 1 attempt: command exited with 1"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "nothing to check: give url, command or both"),
        ({"url": "ftp://example.com/"}, "health url"),
        ({"url": "http://127.0.0.1:1/", "successes": 0}, "health successes must be 1 or more"),
    ],
)
def test_bad_input_is_one_line(params, message):
    with pytest.raises(ConfigurationError, match=message):
        check(params)
