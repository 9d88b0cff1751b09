"""A smart-HTTP git server on 127.0.0.1: ``git http-backend`` behind HTTP basic authentication."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class GitHttpServer:
    """Serves the repositories below ``root``; ``private/`` needs ``password`` (any user name), the rest is open."""

    root: Path
    password: str
    port: int = 0
    # (method, path, user name sent or None) of every request, to prove how the credentials arrived
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def url(self, path: str, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}/{path}"


def _backend() -> str:
    exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
    return os.path.join(exec_path, "git-http-backend")


def start_git_http_server(root: Path, password: str) -> tuple[GitHttpServer, ThreadingHTTPServer]:
    server = GitHttpServer(root=root, password=password)
    backend = _backend()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self._serve()

        def do_POST(self):
            self._serve()

        def _serve(self):
            path, _sep, query = self.path.partition("?")
            sent = self.headers.get("Authorization") or ""
            sent_user, _sep, sent_password = (
                base64.b64decode(sent[6:]).decode().partition(":") if sent.startswith("Basic ") else (None, "", None)
            )
            server.requests.append((self.command, path, sent_user))
            if path.startswith("/private/") and sent_password != password:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", ""),
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_ADDR": "127.0.0.1",
                "REMOTE_USER": sent_user or "",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            out = subprocess.run([backend], input=body, env=env, capture_output=True, check=False).stdout
            head, _sep, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.decode("latin-1").split("\r\n"):
                name, _sep, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return server, httpd


def bare_clone(source: Path, dest: Path) -> None:
    """``dest`` becomes a bare copy of ``source`` that the server can serve."""
    if dest.exists():
        shutil.rmtree(dest)
    subprocess.run(["git", "clone", "--quiet", "--bare", str(source), str(dest)], check=True, capture_output=True)


# Stands in for git on PATH: records the argv of every git process it is asked to start, the names of the
# environment variables whose value holds the secret in $GIT_RECORD_SECRET, then runs the real git.
GIT_RECORDER = """\
import json, os, sys
secret = os.environ.get("GIT_RECORD_SECRET", "")
record = {
    "argv": sys.argv[1:],
    "env_with_secret": sorted(k for k, v in os.environ.items() if secret and secret in v and k != "GIT_RECORD_SECRET"),
    "askpass": os.environ.get("GIT_ASKPASS", ""),
}
with open(os.environ["GIT_RECORD"], "a") as handle:
    handle.write(json.dumps(record) + "\\n")
os.execv(os.environ["GIT_RECORD_REAL"], ["git", *sys.argv[1:]])
"""


def git_recorder(bin_dir: Path, python: str) -> Path:
    """Write the recording ``git`` into ``bin_dir`` (put it first on PATH); returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrapper = bin_dir / "git"
    wrapper.write_text(f"#!{python}\n{GIT_RECORDER}")
    wrapper.chmod(0o755)
    return wrapper
