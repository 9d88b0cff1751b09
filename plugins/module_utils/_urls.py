# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one check for every URL a user gives: repositories, endpoints, health probes, Prometheus, Pushgateway.

``urllib.parse`` raises ValueError on some malformed URLs (``http://[::1/x``) and only when
``.port`` is read on others (``:99999``, ``:abc``); ``check_url`` turns both, and URLs with the
wrong scheme or no host, into one ConfigurationError that names the option and the expected form.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import hide_userinfo as shown_url

_EXAMPLES = {
    "http": "http://host[:port]/path",
    "https": "https://host[:port]/path",
    "file": "file:///absolute/path",
    "s3": "s3://bucket/prefix",
}


def _expected(schemes) -> str:
    web = [scheme for scheme in schemes if scheme in ("http", "https")]
    forms = [_EXAMPLES.get(scheme, f"{scheme}://...") for scheme in schemes if scheme not in web]
    if web:
        forms.append("http(s)://host[:port]/path" if len(web) == 2 else _EXAMPLES[web[0]])
    return forms[0] if len(forms) == 1 else f"{', '.join(forms[:-1])} or {forms[-1]}"


def check_url(url, what: str, schemes=("http", "https"), require_host: bool = True) -> SplitResult:
    """The parts of ``url``; ConfigurationError when it does not parse, has another scheme or lacks a host."""
    expected = _expected(schemes)
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"{what} is empty: give a URL such as {expected}")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise ConfigurationError(
            f"{what} {shown_url(url)!r} contains whitespace or control characters: give a URL such as {expected}"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates the port (range and digits)
    except ValueError as exc:
        raise ConfigurationError(f"{what} {shown_url(url)!r} is not a valid URL ({exc}): use {expected}") from None
    if parts.scheme.lower() not in schemes:
        raise ConfigurationError(f"{what} {shown_url(url)!r} has an unsupported scheme: use {expected}")
    if require_host and parts.scheme.lower() != "file" and not parts.hostname:
        raise ConfigurationError(f"{what} {shown_url(url)!r} has no host name: use {expected}")
    return parts


def url_file_name(url: str, what: str, schemes=("http", "https", "file")) -> str:
    """The last path segment of ``url`` (a file to download); ConfigurationError when there is none."""
    parts = check_url(url, what, schemes)
    name = parts.path.rsplit("/", 1)[-1]
    if not parts.path.startswith("/") or not name or name in (".", ".."):
        raise ConfigurationError(
            f"{what} {shown_url(url)!r} does not end with a file name: give the full URL of the file, "
            f"such as {parts.scheme}://{'' if parts.scheme == 'file' else 'host'}/path/app-1.0.0.tar.gz"
        )
    return name
