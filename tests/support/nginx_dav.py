"""A real nginx with WebDAV PUT on 127.0.0.1: basic auth under /basic/, a bearer token under /bearer/.

/basic/ lists directories as JSON (``autoindex_format json``), /bearer/ as HTML, so both listing
parsers are exercised. /anon/ needs no auth; /flaky/ always answers 503. The access log records
method, path, status and the X-Checksum-Sha256 header. nginx runs in the foreground with its own prefix.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import shutil
import tempfile
from dataclasses import dataclass

from .servers import ServerProcess, free_port

USERNAME = "deployer"
PASSWORD = "conveyor-test-password-4b1e"
TOKEN = "conveyor-test-token-9d2c"

CONFIG = """
{user}
worker_processes 1;
pid {base}/nginx.pid;
error_log {base}/error.log warn;
{load_modules}
events {{ worker_connections 256; }}
http {{
    log_format dav '$request_method $uri $status sha256=$http_x_checksum_sha256';
    access_log {base}/access.log dav;
    client_body_temp_path {base}/client_body;
    proxy_temp_path {base}/proxy; fastcgi_temp_path {base}/fastcgi;
    uwsgi_temp_path {base}/uwsgi; scgi_temp_path {base}/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        dav_methods PUT DELETE MKCOL COPY MOVE;
        create_full_put_path on;
        dav_access user:rw group:r all:r;
        autoindex on;
        location /basic/ {{
            auth_basic "artifacts";
            auth_basic_user_file {base}/htpasswd;
            autoindex_format json;
        }}
        location /bearer/ {{
            if ($http_authorization != "Bearer {token}") {{ return 401; }}
            autoindex_format html;
        }}
        location /anon/ {{
            autoindex_format json;
        }}
        location /flaky/ {{
            return 503;
        }}
    }}
}}
"""


@dataclass
class NginxServer:
    port: int
    base: str
    root: str
    process: ServerProcess
    username: str = USERNAME
    password: str = PASSWORD
    token: str = TOKEN

    def url(self, location: str = "basic") -> str:
        return f"http://127.0.0.1:{self.port}/{location}"

    def access_log(self) -> list[str]:
        with open(os.path.join(self.base, "access.log"), encoding="utf-8") as handle:
            return handle.read().splitlines()


def _htpasswd_line(user: str, password: str) -> str:
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{user}:{{SHA}}{digest}\n"


def _load_modules() -> str:
    lines = []
    for module in ("ngx_http_dav_ext_module.so",):
        path = os.path.join("/usr/lib/nginx/modules", module)
        if os.path.exists(path):
            lines.append(f"load_module {path};")
    return "\n".join(lines)


def start_nginx(binary: str) -> NginxServer:
    base = tempfile.mkdtemp(prefix="conveyor-nginx-")
    root = os.path.join(base, "root")
    for location in ("basic", "bearer", "anon"):
        os.makedirs(os.path.join(root, location))
    os.makedirs(os.path.join(base, "client_body"))
    port = free_port()
    with open(os.path.join(base, "htpasswd"), "w", encoding="utf-8") as handle:
        handle.write(_htpasswd_line(USERNAME, PASSWORD))
    user = ""
    os.chmod(base, 0o755)
    if os.geteuid() == 0:  # the master starts as root; workers run as nobody and must own what they write
        user = "user nobody nogroup;"
        entry = pwd.getpwnam("nobody")
        for directory, dirs, _files in os.walk(base):
            for name in dirs:
                os.chown(os.path.join(directory, name), entry.pw_uid, entry.pw_gid)
        os.chmod(os.path.join(base, "htpasswd"), 0o644)
    with open(os.path.join(base, "nginx.conf"), "w", encoding="utf-8") as handle:
        handle.write(
            CONFIG.format(base=base, root=root, port=port, token=TOKEN, load_modules=_load_modules(), user=user)
        )
    process = ServerProcess(
        "nginx", [binary, "-p", base, "-c", os.path.join(base, "nginx.conf"), "-g", "daemon off;"], port, base,
        log_name="stderr.log",
    )  # fmt: skip
    server = NginxServer(port, base, root, process)
    try:
        process.start(timeout=20)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    return server


def stop_nginx(server: NginxServer) -> None:
    server.process.stop(timeout=10)
    shutil.rmtree(server.base, ignore_errors=True)
