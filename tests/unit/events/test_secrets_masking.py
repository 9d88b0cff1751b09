"""The one set of masking rules: secret values and their fragments, URL credentials, key=value pairs."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._secrets import (
    MASK,
    mask_data,
    mask_text,
    mask_url,
    secret_values,
    split_userinfo,
    url_credentials,
)

SECRET = "Zq7-long-service-secret-41"


@pytest.mark.parametrize(
    "line",
    [
        f"error: bad credential {SECRET}",
        f"error: bad credential {SECRET[:12]}",  # the log cut the value
        f"error: bad credential ...{SECRET[5:19]}...",  # a part from the middle
        f"error: {SECRET[:9]} and {SECRET[-9:]}",  # two parts
    ],
)
def test_a_secret_and_every_8_character_part_of_it_are_masked(line):
    masked = mask_text(line, [SECRET])
    assert MASK in masked
    for start in range(len(SECRET) - 7):
        assert SECRET[start : start + 8] not in masked


def test_short_runs_and_unrelated_text_are_kept():
    assert mask_text("error: bad credential Zq7-long", [SECRET]) == f"error: bad credential {MASK}"
    assert mask_text("service started on port 8000", [SECRET]) == "service started on port 8000"
    assert mask_text("Zq7-lon", [SECRET]) == "Zq7-lon"  # 7 characters: too short to be told from chance


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ci:t0ken-value@repo.example/artifacts", "https://ci:***@repo.example/artifacts"),
        ("https://ghp_abcdef123456@github.com/acme/app.git", "https://***@github.com/acme/app.git"),
        ("s3://AKIAX:wJalr@127.0.0.1:8333/bucket", "s3://AKIAX:***@127.0.0.1:8333/bucket"),
        ("ssh://git@github.com/acme/app.git", "ssh://git@github.com/acme/app.git"),  # a user name, not a secret
        ("http://127.0.0.1:9090/api/v1/query", "http://127.0.0.1:9090/api/v1/query"),
    ],
)
def test_url_credentials_are_masked(url, expected):
    assert mask_url(url) == expected
    assert mask_text(f"GET {url} failed") == f"GET {expected} failed"


def test_url_credentials_are_found_in_nested_options_for_no_log():
    params = {
        "repository": "https://ci:t0ken-value@repo.example/a",
        "repository_options": {"endpoint_url": "http://k:secretkey@127.0.0.1:8333"},
        "health": {"url": "http://probe:pw@127.0.0.1:8000/health"},  # 2 characters: not collected
        "urls": ["https://ghp_abcdef123456@github.com/x"],
    }
    assert url_credentials(params) == {"t0ken-value", "secretkey", "ghp_abcdef123456"}


def test_mask_data_masks_secret_keys_and_texts():
    data = {"service_secrets": {"DSN": "x"}, "msg": f"boom {SECRET[2:14]}", "url": "https://u:p4ss@h/"}
    assert mask_data(data, [SECRET]) == {"service_secrets": MASK, "msg": f"boom {MASK}", "url": "https://u:***@h/"}


def test_userinfo_becomes_basic_auth_and_leaves_the_url():
    url, authorization = split_userinfo("http://probe:p%40ss@127.0.0.1:8000/health?x=1")
    assert url == "http://127.0.0.1:8000/health?x=1"
    assert authorization == "Basic cHJvYmU6cEBzcw=="  # probe:p@ss
    assert split_userinfo("http://[::1]:8000/health") == ("http://[::1]:8000/health", None)


def test_every_value_under_a_secret_key_is_a_secret():
    data = {"service_secrets": {"DATABASE_URL": "postgresql://app:pw@db/app", "PORT_LIST": [8001, "abcd"]}}
    assert secret_values(data) == {"postgresql://app:pw@db/app", "8001", "abcd"}
