"""Masking secrets for the whole collection: one set of rules for messages, results, events and logs.

- A secret value given to us (``service_secrets``, sensitive Terraform variables, database passwords,
  values under secret-looking keys) is replaced by ``********`` wherever it stands in a text, and so is
  any run of 8 or more of its characters (a log line that cut the value, or quoted part of it).
- Credentials in a URL's userinfo are masked wherever a URL is shown or recorded:
  ``scheme://user:password@host`` becomes ``scheme://user:***@host``, and a bare token in the userinfo of
  an ``http``, ``https`` or ``s3`` URL (``https://TOKEN@host``) becomes ``https://***@host``.
- ``password=...``, ``token: ...`` and similar pairs in free text lose their value.

Ansible's ``no_log`` masks whole option values; these rules cover the parts of values it cannot see.
"""

from __future__ import annotations

import base64
import re
import urllib.parse

MASK = "********"
URL_MASK = "***"
FRAGMENT = 8  # a secret's runs of this many characters or more are masked, too

_SECRET_KEY = re.compile(
    r"(password|passwd|passphrase|secret|token|api_?key|private_?key|access_?key|credential|authorization|cookie"
    r"|(^|_)pass($|_)|(^|_)pwd($|_)|(^|_)dsn($|_))",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^\s/@:]*:)([^\s/@]+)(@)")
_URL_TOKEN = re.compile(r"(\b(?:https?|s3)://)([^\s/@:]+)(@)", re.IGNORECASE)
_KEYVALUE_PASSWORD = re.compile(
    r"\b((?:[A-Za-z_]*pass(?:word|wd)?|[A-Za-z_]*token|[A-Za-z_]*secret(?:_key)?)\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(?<=//)[^/?#@]*@")
_NO_LOG_MARKER = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def is_secret_key(key) -> bool:
    return isinstance(key, str) and bool(_SECRET_KEY.search(key))


def secret_values(data, found=None) -> set:
    """Every string value stored under a secret-looking key anywhere inside ``data``."""
    found = set() if found is None else found
    if isinstance(data, dict):
        for key, value in data.items():
            if is_secret_key(key):
                _leaves(value, found)  # everything under a secret key: service_secrets: {DATABASE_URL: ...}
            else:
                secret_values(value, found)
    elif isinstance(data, (list, tuple)):
        for item in data:
            secret_values(item, found)
    return found


def _leaves(value, found: set) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _leaves(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _leaves(item, found)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= 4 and text != _NO_LOG_MARKER and text != MASK:
            found.add(text)


def url_credentials(value) -> set:
    """The passwords and bare tokens in the userinfo of every URL inside ``value`` (for ``no_log_values``)."""
    found = set()
    if isinstance(value, str):
        found.update(match.group(2) for match in _URL_PASSWORD.finditer(value))
        found.update(match.group(2) for match in _URL_TOKEN.finditer(value))
        found = {item for item in found if len(item) >= 3}  # shorter ones would mask every letter they hold
    elif isinstance(value, dict):
        for item in value.values():
            found |= url_credentials(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found |= url_credentials(item)
    return found


def mask_url(url: str) -> str:
    """``url`` with the credentials of its userinfo masked (see the module docstring)."""
    return _URL_TOKEN.sub(rf"\1{URL_MASK}\3", _URL_PASSWORD.sub(rf"\1{URL_MASK}\3", url))


def hide_userinfo(url) -> str:
    """``url`` with its whole userinfo replaced, for messages about a URL that may not even parse."""
    return _USERINFO.sub(f"{URL_MASK}@", str(url))


def _fragment_spans(text: str, secrets) -> list[tuple[int, int]]:
    grams = set()
    for secret in secrets:
        if len(secret) >= FRAGMENT:
            grams.update(secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1))
    if not grams:
        return []
    spans: list[tuple[int, int]] = []
    for start in range(len(text) - FRAGMENT + 1):
        if text[start : start + FRAGMENT] in grams:
            end = start + FRAGMENT
            if spans and start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((start, end))
    return spans


def _texts(values) -> list[str]:
    return sorted({str(v) for v in values or () if v not in (None, "") and str(v) != MASK}, key=len, reverse=True)


def mask_text(text, secrets=(), whole=()):
    """``text`` with every rule applied; anything that is not a string is returned as it is.

    ``secrets`` are masked whole and by their 8-character runs; ``whole`` only where they stand whole
    (a connection string, say, whose other runs are a user or a host name).
    """
    if not isinstance(text, str) or not text:
        return text
    secrets = _texts(secrets)
    for secret in _texts([*secrets, *(whole or ())]):
        text = text.replace(secret, MASK)
    spans = _fragment_spans(text, secrets)
    for start, end in reversed(spans):
        text = text[:start] + MASK + text[end:]
    text = mask_url(text)
    return _KEYVALUE_PASSWORD.sub(lambda m: m.group(1) + MASK, text)


def mask_data(value, secrets=()):
    """A copy of ``value`` with secret-looking keys masked and :func:`mask_text` applied to every string."""
    if isinstance(value, dict):
        return {
            key: (MASK if is_secret_key(key) and item not in (None, "", {}, []) else mask_data(item, secrets))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [mask_data(item, secrets) for item in value]
    if isinstance(value, str):
        return mask_text(value, secrets)
    return value


def one_line(text, secrets=(), whole=()) -> str:
    """A message folded onto one line, masked."""
    return mask_text(" ".join(str(text).split()), secrets, whole)


def split_userinfo(url: str) -> tuple[str, str | None]:
    """``url`` without its userinfo, and the ``Authorization: Basic`` value the userinfo stood for (or None)."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _colon, password = userinfo.partition(":")
    pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}".encode()
    clean = urllib.parse.urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, "Basic " + base64.b64encode(pair).decode("ascii")
