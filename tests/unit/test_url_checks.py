"""Every URL option goes through one check: malformed URLs are one clear line, never a ValueError."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts as artifacts
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._events import push_to_gateway
from ansible_collections.conveyor.cicd.plugins.module_utils._health import normalize
from ansible_collections.conveyor.cicd.plugins.module_utils._prometheus import PrometheusClient
from ansible_collections.conveyor.cicd.plugins.module_utils._urls import check_url, url_file_name


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/x", "Invalid IPv6 URL"),
        ("http://127.0.0.1:99999/", "Port out of range 0-65535"),
        ("http://127.0.0.1:-1/", "Port"),
        ("http://127.0.0.1:abc/", "Port could not be cast to integer value"),
    ],
)
def test_unparsable_url_names_the_option_and_the_reason(url, reason):
    with pytest.raises(ConfigurationError, match=r"^some_url '.*' is not a valid URL \(") as caught:
        check_url(url, "some_url")
    assert reason in caught.value.msg and "use http(s)://host[:port]/path" in caught.value.msg


def test_accepted_urls_come_back_parsed():
    assert check_url("http://[::1]:8080/x", "u").port == 8080
    assert check_url("file:///srv/artifacts", "u", schemes=("file",)).path == "/srv/artifacts"
    assert url_file_name("https://host/dist/app-1.0.0.tar.gz", "artifact_url") == "app-1.0.0.tar.gz"


@pytest.mark.parametrize("url", ["a.tgz", "https://host", "https://host/", "file:///"])
def test_download_url_needs_a_file_name(url):
    with pytest.raises(ConfigurationError, match=r"^artifact_url "):
        url_file_name(url, "artifact_url")


@pytest.mark.parametrize(
    "call",
    [
        PrometheusClient,
        lambda url: push_to_gateway(url, "job", {}, []),
        lambda url: normalize({"url": url}),
    ],
    ids=["metrics_gate url", "pushgateway_url", "health url"],
)
@pytest.mark.parametrize("url", ["http://[::1/x", "http://127.0.0.1:99999/"])
def test_every_http_url_option_is_checked(call, url):
    with pytest.raises(ConfigurationError, match="is not a valid URL"):
        call(url)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("http://[::1/x", r"repository 'http://\[::1/x' is not a valid URL \(Invalid IPv6 URL\)"),
        ("http://127.0.0.1:99999/repo", r"is not a valid URL \(Port out of range 0-65535\)"),
        ("https://host:abc/repo", r"is not a valid URL \(Port could not be cast"),
        ("http:///repo", r"has no host name"),
        ("ftp://host/repo", r"has an unsupported scheme: use file:///absolute/path, s3://bucket/prefix or http\(s\)"),
        ("s3://bucket/p\n", r"contains whitespace or control characters"),
    ],
)
def test_malformed_repository_url_is_one_clear_line(url, complaint):
    with pytest.raises(ConfigurationError, match=complaint):
        artifacts.open_repository({"repository": url, "retries": 3, "timeout": 5})


def test_malformed_endpoint_url_and_dest_repository_name_their_option():
    with pytest.raises(ConfigurationError, match=r"endpoint_url 'http://127.0.0.1:99999' is not a valid URL"):
        artifacts.open_repository({"repository": "s3://bucket/p", "endpoint_url": "http://127.0.0.1:99999"})
    with pytest.raises(ConfigurationError, match=r"^dest_repository 'http://\[::1' is not a valid URL"):
        artifacts.open_repository({"repository": "http://[::1"}, what="dest_repository")


def test_credentials_in_a_malformed_url_are_not_shown():
    with pytest.raises(ConfigurationError) as caught:
        artifacts.open_repository({"repository": "https://deploy:s3cr3t@host:99999/repo"})
    assert "s3cr3t" not in caught.value.msg and "***@host:99999" in caught.value.msg
