# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A generic raw HTTP repository: ``https://host/repository/raw`` (Nexus raw, Artifactory generic, WebDAV).

- Upload: one streamed ``PUT`` with ``Content-Length`` and ``X-Checksum-Sha256``. nginx (dav), Nexus and
  Artifactory store a PUT body under its name only once the body is complete, so an interrupted upload
  leaves nothing at the final URL; a ``<file>.sha256`` sidecar follows the file.
- Verification after upload: ``HEAD`` must report the size sent, and a server checksum header
  (``X-Checksum-Sha256``, as Artifactory returns) when present must match.
- Listing (for info and prune): ``GET <directory>/`` with ``Accept: application/json``; nginx
  ``autoindex_format json`` answers JSON, other servers (nginx/Apache autoindex HTML, Nexus and
  Artifactory browse pages) answer HTML whose relative links are read.
- Auth: basic (username/password, or user info in the URL) or a bearer token.
- Retries: connection errors and 5xx, bounded, exponential backoff with jitter; a 4xx fails at once.
- Conditional writes: ``create_bytes`` sends ``PUT`` with ``If-None-Match: *`` (412 when the name exists).
  nginx's dav module ignores that header, so the engine also takes a lock before it writes a version: a
  WebDAV ``MKCOL`` of a hidden collection, which the server creates with ``mkdir`` (exactly one of racing
  writers gets 201, the others 405). Servers without MKCOL get a lock file written with
  ``If-None-Match: *`` instead, which is exclusive only where the server honours it. A lock older than
  ``stale_age`` is deleted and taken again; nginx cannot delete conditionally, so two writers breaking the
  same dead lock at the same moment could both take it (the manifest's conditional write remains). A lock
  collection without an owner record (its writer died between MKCOL and writing the record) is dated from
  when another writer first found it so (a ``seen`` record inside it), and expires ``stale_age`` after that.

This backend talks ``http.client`` directly instead of the collection's small-request client
(``_http.request``, built on ansible-core's ``open_url``): uploads stream a file of any size from a
reader with a known ``Content-Length`` and downloads stream into a hashing writer, where ``open_url``
would take the body as one value and ``_http`` keeps only a bounded body; it sends ``MKCOL`` and
conditional ``PUT`` (``If-None-Match: *``) and reads their 201/405/412 answers as outcomes, and
restarts an interrupted transfer with its own retries and backoff.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import ssl
import time
from html import unescape
from urllib.parse import quote, unquote, urljoin, urlparse, urlunparse

from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store._base import (
    CHUNK,
    SMALL_OBJECT_LIMIT,
    ArtifactStore,
    ObjectInfo,
    RetryableError,
    StoreError,
    retry_call,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError

_HREF = re.compile(r"""href\s*=\s*["']([^"'#?]+)["']""", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


class HttpStore(ArtifactStore):
    scheme = "http"

    def __init__(self, url: str, **options):
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigurationError(f"invalid HTTP repository URL (scheme {parsed.scheme!r}): use http(s)://host/path")
        username = options.get("username") or (unquote(parsed.username) if parsed.username else None)
        password = options.get("password") or (unquote(parsed.password) if parsed.password else None)
        netloc = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
        super().__init__(urlunparse((parsed.scheme, netloc, parsed.path.rstrip("/"), "", "", "")), **options)
        self.https = parsed.scheme == "https"
        self.host = parsed.hostname
        self.port = parsed.port
        self.base_path = parsed.path.rstrip("/")
        self.headers = {"User-Agent": "conveyor.cicd artifact repository"}
        if options.get("token"):
            self.headers["Authorization"] = f"Bearer {options['token']}"
        elif username:
            pair = f"{username}:{password or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self.context = None
        if self.https:
            self.context = ssl.create_default_context()
            if not options.get("validate_certs", True):
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE

    # --- plumbing --------------------------------------------------------------------------
    def _connection(self):
        if self.https:
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.context, blocksize=CHUNK
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout, blocksize=CHUNK)

    def _path(self, key: str) -> str:
        return self.base_path + "/" + quote(key)

    def _request(self, method: str, key: str, body=None, headers=None, handle=None, ok=(200, 201, 204), path=None):
        """One request with retries. ``handle(response)`` reads the body; 404 gives None."""
        path = path or self._path(key)
        where = f"{self.url}/{key}"

        def attempt():
            if hasattr(body, "restart"):
                body.restart()
            connection = self._connection()
            try:
                connection.request(method, path, body=body, headers=dict(self.headers, **(headers or {})))
                response = connection.getresponse()
                if response.status == 404 and method in ("GET", "HEAD", "DELETE"):
                    response.read()
                    return None
                if response.status >= 500:
                    raise RetryableError(f"HTTP {response.status} {response.reason} from {where}")
                if response.status not in ok:
                    text = _TAGS.sub(" ", response.read(2000).decode("utf-8", "replace"))
                    text = " ".join(text.split())[:300]
                    hint = " (check username/password or token)" if response.status in (401, 403) else ""
                    raise StoreError(
                        f"{method} {where} failed: HTTP {response.status} {response.reason}"
                        f"{': ' + text if text else ''}{hint}",
                        status=response.status,
                    )
                return handle(response) if handle else response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise RetryableError(f"{method} {where}: {type(exc).__name__}: {exc}") from None
            finally:
                connection.close()

        return retry_call(attempt, self.retries, f"{method} {where}")

    # --- primitives ---------------------------------------------------------------------------
    def _upload(self, key, reader, sha256):
        headers = {"Content-Length": str(reader.size), "Content-Type": "application/octet-stream"}
        if sha256:
            headers["X-Checksum-Sha256"] = sha256
        self._request("PUT", key, body=reader, headers=headers)

    def _download(self, key, writer):
        def copy(response):
            while True:
                block = response.read(CHUNK)
                if not block:
                    return True
                writer.write(block)

        def restartable(response):
            writer.restart()
            return copy(response)

        if self._request("GET", key, handle=restartable) is None:
            raise StoreError(f"{self.url_for(key)} does not exist")

    def _head(self, key):
        def read(response):
            response.read()
            size = response.getheader("Content-Length")
            checksum = response.getheader("X-Checksum-Sha256")
            return ObjectInfo(key, int(size) if size is not None else -1, checksum.lower() if checksum else None)

        return self._request("HEAD", key, handle=read)

    def _list(self, prefix):
        keys = []
        pending = [prefix]
        while pending:
            directory = pending.pop()
            for name, is_dir in self._list_directory(directory):
                key = f"{directory}/{name}" if directory else name
                (pending if is_dir else keys).append(key)
        return keys

    def _list_directory(self, directory: str):
        path = self.base_path + "/" + (quote(directory) + "/" if directory else "")

        def read(response):
            body = response.read(SMALL_OBJECT_LIMIT)
            if "json" in (response.getheader("Content-Type") or ""):
                return [(e["name"], e.get("type") == "directory") for e in json.loads(body)]
            entries = []
            for href in _HREF.findall(body.decode("utf-8", "replace")):
                target = urlparse(urljoin(path, unescape(href))).path
                if not target.startswith(path) or target == path:
                    continue
                rest = unquote(target[len(path) :])
                name = rest.rstrip("/")
                if name and "/" not in name and name not in (".", ".."):
                    entries.append((name, rest.endswith("/")))
            return sorted(set(entries))

        return self._request("GET", directory, handle=read, path=path, headers={"Accept": "application/json"}) or []

    def _delete(self, key):
        self._request("DELETE", key, ok=(200, 202, 204))

    def remove_directory(self, prefix: str) -> None:
        """Remove an emptied directory (WebDAV servers keep them); servers without directories say 404/405."""
        try:
            self._request("DELETE", prefix, path=self.base_path + "/" + quote(prefix) + "/", ok=(200, 202, 204))
        except StoreError as exc:
            if exc.details.get("status") not in (403, 405, 409):
                raise

    def _put_bytes(self, key, data):
        self._request("PUT", key, body=data, headers={"Content-Type": "application/octet-stream"})

    def _get_bytes(self, key):
        return self._request("GET", key, handle=lambda response: response.read(SMALL_OBJECT_LIMIT))

    def _create_bytes(self, key, data):
        headers = {"Content-Type": "application/octet-stream", "If-None-Match": "*"}
        try:
            self._request("PUT", key, body=data, headers=headers)
        except StoreError as exc:
            if exc.details.get("status") == 412:
                return False
            raise
        return True

    def _collection(self, key: str) -> str:
        return self.base_path + "/" + quote(key) + "/"

    def _mkcol(self, key: str) -> int:
        """MKCOL ``key``: the HTTP status (201 made, 405 exists or unsupported, 409 parent missing)."""
        try:
            self._request("MKCOL", key, path=self._collection(key), ok=(201,))
        except StoreError as exc:
            if exc.details.get("status") is None:
                raise
            return exc.details["status"]
        return 201

    def _exists(self, key: str, path: str | None = None) -> bool:
        return self._request("HEAD", key, path=path, ok=(200, 204, 301, 302, 401, 403)) is not None

    def _try_lock(self, key, data):
        status = self._mkcol(key)
        if status == 409:  # the parent collection does not exist yet
            parts = key.split("/")[:-1]
            self._mkcol_base()
            for depth in range(1, len(parts) + 1):
                self._mkcol("/".join(parts[:depth]))
            status = self._mkcol(key)
        if status == 201:
            self._request("PUT", f"{key}/owner", body=data, headers={"Content-Type": "application/json"})
            return True, None, "collection"
        if status == 405 and self._exists(key, path=self._collection(key)):
            for _attempt in range(20):  # the holder writes its record just after MKCOL
                holder = self._get_bytes(f"{key}/owner")
                if holder is not None:
                    return False, holder, "collection"
                time.sleep(0.1)
            return False, self._ownerless_record(key), "collection"
        # no WebDAV collections here: a lock file, exclusive where the server honours If-None-Match
        if self._create_bytes(key, data):
            return True, None, "file"
        return False, self._get_bytes(key), "file"

    def _ownerless_record(self, key: str) -> bytes:
        """The record of a lock whose holder died between MKCOL and writing its owner: dated from when it was first seen."""
        seen = self._get_bytes(f"{key}/seen")
        if seen is None:
            seen = json.dumps({"started": time.time(), "ownerless": True}, sort_keys=True).encode()
            self._put_bytes(f"{key}/seen", seen)
        return seen

    def _mkcol_base(self):
        parts = [p for p in self.base_path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            path = "/" + "/".join(quote(p) for p in parts[:depth]) + "/"
            try:
                self._request("MKCOL", "", path=path, ok=(201,))
            except StoreError as exc:
                if exc.details.get("status") is None:
                    raise

    def _break_lock(self, key, token):
        self._unlock(key)

    def _unlock(self, key):
        if self._request("DELETE", key, path=self._collection(key), ok=(200, 202, 204)) is None:
            self._request("DELETE", key, ok=(200, 202, 204))
