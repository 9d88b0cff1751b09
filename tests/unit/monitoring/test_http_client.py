"""The one HTTP client for small requests (module_utils/_http.py) against real servers on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._http import Unreachable, request
from tests.support.servers import free_port


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length) if length else b""
        self.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "agent": self.headers.get("User-Agent"),
                "body": sent,
            }
        )
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"moved")
            return
        status = int(self.path.split("/status/", 1)[1]) if "/status/" in self.path else 200
        body = b"x" * 5000 if self.path == "/big" else json.dumps({"path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Trace", "a")
        self.send_header("X-Trace", "b")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.seen = []
    _serve(httpd)
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_server(certificate):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    _Handler.seen = []
    _serve(httpd)
    yield f"https://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_an_answer_has_status_lower_case_headers_and_body(server):
    response = request(server + "/ok", agent="conveyor.cicd-test")
    assert response.ok and response.status == 200 and response.reason == "OK"
    assert response.headers["content-type"] == "application/json" and response.headers["x-trace"] == "a, b"
    assert json.loads(response.body) == {"path": "/ok"} and response.truncated is False
    assert _Handler.seen[0]["agent"] == "conveyor.cicd-test"


@pytest.mark.parametrize("status", [404, 503])
def test_a_status_that_is_not_2xx_is_an_answer_not_an_exception(server, status):
    response = request(f"{server}/status/{status}")
    assert response.status == status and not response.ok
    assert response.first_line() == json.dumps({"path": f"/status/{status}"})


def test_redirects_are_followed_only_when_asked(server):
    followed = request(server + "/redirect")
    assert followed.status == 200 and json.loads(followed.body) == {"path": "/ok"}
    judged = request(server + "/redirect", follow_redirects=False)
    assert judged.status == 302 and judged.headers["location"] == "/ok" and judged.body == b"moved"
    assert [seen["path"] for seen in _Handler.seen] == ["/redirect", "/ok", "/redirect"]


def test_the_body_is_bounded(server):
    response = request(server + "/big", body_limit=1000)
    assert response.body == b"x" * 1000 and response.truncated is True
    assert request(server + "/big", body_limit=5000).truncated is False


def test_userinfo_becomes_basic_authentication_and_leaves_the_url(server):
    secret_url = server.replace("http://", "http://probe:s3cret%40pass@") + "/ok"
    response = request(secret_url)
    assert response.url == server + "/ok"
    expected = "Basic " + base64.b64encode(b"probe:s3cret@pass").decode()
    assert _Handler.seen[0]["authorization"] == expected


def test_options_and_an_explicit_header_win_over_userinfo(server):
    secret_url = server.replace("http://", "http://probe:s3cret@") + "/ok"
    request(secret_url, username="deployer", password="other")
    request(secret_url, headers={"Authorization": "Bearer t0ken"})
    assert _Handler.seen[0]["authorization"] == "Basic " + base64.b64encode(b"deployer:other").decode()
    assert _Handler.seen[1]["authorization"] == "Bearer t0ken"


def test_a_post_sends_its_body_and_method(server):
    response = request(server + "/push", method="put", data=b"up 1\n", headers={"Content-Type": "text/plain"})
    assert response.status == 200
    assert _Handler.seen[0]["method"] == "PUT" and _Handler.seen[0]["body"] == b"up 1\n"


def test_no_proxy_when_asked(server, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("http_proxy", dead)
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert request(server + "/ok", use_proxy=False).status == 200
    with pytest.raises(Unreachable):
        request(server + "/ok", timeout=2)  # through the proxy, which does not run


def test_a_refused_connection_is_one_line_without_credentials():
    url = f"http://probe:s3cret-pass@127.0.0.1:{free_port()}/healthz"
    with pytest.raises(Unreachable) as info:
        request(url, timeout=2)
    message = str(info.value)
    assert message.startswith(f"cannot reach http://127.0.0.1:{url.rsplit(':', 1)[1]}: ")
    assert "refused" in info.value.reason.lower()
    assert "\n" not in message and "s3cret" not in message and "probe" not in message


def test_a_server_that_never_answers_times_out_in_one_line():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the connection, never answers
        port = listener.getsockname()[1]
        with pytest.raises(Unreachable) as info:
            request(f"http://127.0.0.1:{port}/", timeout=0.5)
    assert "timed out" in info.value.reason and "\n" not in str(info.value)


def test_tls_is_verified_unless_switched_off(tls_server, certificate):
    with pytest.raises(Unreachable) as info:
        request(tls_server + "/ok", timeout=5)
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.reason and "\n" not in str(info.value)
    assert request(tls_server + "/ok", validate_certs=False).status == 200
    assert request(tls_server + "/ok", ca_path=certificate[0]).status == 200


def test_a_missing_ca_bundle_is_bad_input(tls_server, tmp_path):
    with pytest.raises(ConfigurationError, match=r"^ca_path .*missing\.pem is not a file"):
        request(tls_server + "/ok", ca_path=str(tmp_path / "missing.pem"))
