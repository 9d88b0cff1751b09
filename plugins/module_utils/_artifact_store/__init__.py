# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One artifact store interface; the backend comes from the repository URL.

file:///srv/artifacts          FileStore  (the embedded default)
s3://bucket/prefix             S3Store    (boto3; endpoint_url for S3-compatible servers)
http(s)://host/path            HttpStore  (raw PUT/GET/HEAD repositories: Nexus, Artifactory, WebDAV)
"""

from __future__ import annotations

from urllib.parse import urlparse

from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store._base import (
    ArtifactStore,
    IntegrityError,
    ObjectInfo,
    RetryableError,
    StoreError,
    retry_call,
)
from ansible_collections.conveyor.cicd.plugins.module_utils._urls import check_url

__all__ = [
    "ArtifactStore",
    "IntegrityError",
    "ObjectInfo",
    "RetryableError",
    "StoreError",
    "open_store",
    "public_url",
    "retry_call",
]


def public_url(url: str) -> str:
    """The repository URL without user info, safe to show."""
    parsed = urlparse(url or "")
    if parsed.username or parsed.password:
        host = parsed.hostname or ""
        netloc = host + (f":{parsed.port}" if parsed.port else "")
        return parsed._replace(netloc=netloc).geturl()
    return url


def open_store(url: str, what: str = "repository", **options) -> ArtifactStore:
    """The store for ``url`` (the option ``what``). Options: endpoint_url, region, access_key, secret_key,
    session_token, username, password, token, validate_certs, timeout, retries (unknown or empty ones are ignored)."""
    scheme = check_url(url, what, schemes=("file", "s3", "http", "https")).scheme.lower()
    if options.get("endpoint_url"):
        check_url(options["endpoint_url"], "endpoint_url")
    if scheme == "file":
        from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store.file import FileStore

        return FileStore(url, **options)
    if scheme == "s3":
        from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store.s3 import S3Store

        return S3Store(url, **options)
    from ansible_collections.conveyor.cicd.plugins.module_utils._artifact_store.http import HttpStore

    return HttpStore(url, **options)
