# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP client for small requests: health probes, Prometheus queries, Pushgateway pushes.

``request`` sends one request and returns a :class:`Response` with the status, the headers and a
bounded body, whatever the status is: a 404 or a 503 is an answer for the caller to judge, not an
exception. Only "no answer" raises: refused or reset connections, unknown hosts, timeouts, TLS
failures and malformed answers become :class:`Unreachable`, whose message is one line with the URL's
userinfo hidden.

It is built on ansible-core's public ``ansible.module_utils.urls.open_url``, which already does all a
health check needs:

- ``follow_redirects="none"`` turns a redirect into an ``HTTPError`` carrying the 3xx status and body,
  which becomes a plain response here (a probe judges the redirect instead of following it);
- an ``HTTPError`` for any other status is read the same way, so non-2xx answers never raise;
- TLS verification (``validate_certs``, ``ca_path``), timeouts, proxies and ``~/.netrc`` are its options.

Credentials in the URL's userinfo (``https://user:password@host/``) are taken out of the URL with
``_secrets.split_userinfo`` and sent as a basic ``Authorization`` header with the first request:
open_url would only answer a ``401`` challenge with them, and would not hide them in messages.
``username``/``password`` options, and an ``Authorization`` header the caller gives (a bearer token),
take precedence over userinfo.

Streaming transfers (artifact uploads and downloads, conditional writes, WebDAV ``MKCOL``) are not for
this client: ``_artifact_store/http.py`` keeps ``http.client`` for them.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
from dataclasses import dataclass, field

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import hide_userinfo, split_userinfo

BODY_LIMIT = 1024 * 1024  # bytes of a body kept by default; the rest is left unread
AGENT = "conveyor.cicd"
_READ = 64 * 1024


class Unreachable(ConveyorError):
    """No HTTP answer from ``url``; ``reason`` says why, on one line."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"cannot reach {url}: {reason}", url=url)
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class Response:
    """One answer: ``url`` without userinfo, ``headers`` with lower-case names, at most ``body_limit`` bytes."""

    url: str
    status: int
    reason: str
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def first_line(self) -> str:
        """The body's first non-empty line, stripped (for error messages)."""
        for line in self.text().splitlines():
            if line.strip():
                return line.strip()
        return ""


def _one_line(text) -> str:
    return hide_userinfo(" ".join(str(text).split()))


def reason_of(exc: BaseException) -> str:
    """Why a request got no answer, on one line: the socket or TLS error inside a URLError, or the error itself."""
    inner = getattr(exc, "reason", None) if isinstance(exc, urllib.error.URLError) else None
    cause = inner if inner not in (None, "") else exc
    return _one_line(cause) or type(cause).__name__


def _read(handle, limit: int) -> tuple[bytes, bool]:
    chunks, size = [], 0
    while size <= limit:
        block = handle.read(min(_READ, limit + 1 - size))
        if not block:
            break
        chunks.append(block)
        size += len(block)
    body = b"".join(chunks)
    return body[:limit], len(body) > limit


def _headers(message) -> dict:
    out: dict = {}
    for name, value in message.items() if message is not None else ():
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def request(
    url: str,
    *,
    method: str = "GET",
    data: bytes | str | None = None,
    headers: dict | None = None,
    timeout: float = 10,
    validate_certs: bool = True,
    ca_path: str | None = None,
    username: str | None = None,
    password: str | None = None,
    follow_redirects: bool = True,
    use_proxy: bool = True,
    use_netrc: bool = True,
    agent: str = AGENT,
    body_limit: int = BODY_LIMIT,
) -> Response:
    """Send one request; the answer whatever its status, or :class:`Unreachable` when there is none."""
    clean, authorization = split_userinfo(url)
    sent = dict(headers or {})
    if authorization and not username and not any(name.lower() == "authorization" for name in sent):
        sent["Authorization"] = authorization
    if ca_path and not os.path.isfile(ca_path):
        raise ConfigurationError(f"ca_path {ca_path} is not a file: give the CA bundle (PEM) that signed the server")
    try:
        try:
            handle = open_url(
                clean,
                data=data,
                method=method.upper(),
                headers=sent,
                timeout=timeout,
                validate_certs=validate_certs,
                ca_path=ca_path,
                url_username=username,
                url_password=password,
                force_basic_auth=bool(username),
                follow_redirects="urllib2" if follow_redirects else "none",
                use_proxy=use_proxy,
                use_netrc=use_netrc,
                http_agent=agent,
            )
            status, reason, message = handle.status, handle.reason, handle.headers
        except urllib.error.HTTPError as exc:  # any status that is not 2xx (and a redirect not followed)
            handle, status, reason, message = exc, exc.code, exc.reason, exc.headers
        try:
            if handle.fp is None:  # an HTTPError without a body
                body, truncated = b"", False
            else:
                body, truncated = _read(handle, body_limit)
        finally:
            handle.close()
    except (OSError, http.client.HTTPException, UrlsConnectionError, ValueError) as exc:
        # URLError (refused, unknown host, TLS), timeouts, resets and malformed answers all end here
        raise Unreachable(clean, reason_of(exc)) from None
    return Response(clean, int(status), _one_line(reason or ""), _headers(message), body, truncated)
