"""Validating patterns match the whole value: a name ending in a newline is refused, never used as a path."""

from __future__ import annotations

import os

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils import _artifacts, _package, _rollout
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.driver import validate_identifier
from ansible_collections.conveyor.cicd.plugins.module_utils._migrate.files import parse_name
from ansible_collections.conveyor.cicd.plugins.module_utils._pushgateway import group_url, render
from ansible_collections.conveyor.cicd.plugins.module_utils._semver import check_token
from ansible_collections.conveyor.cicd.plugins.module_utils._terraform import check_workspace_name

CHECKS = {
    "artifact name": lambda: _artifacts.check_name("app\n", "name"),
    "release id": lambda: _rollout.check_release_id("rel\n"),
    "package name": lambda: _package._check_name("app\n", "name"),
    "sql identifier": lambda: validate_identifier("schema_history\n", "history_table"),
    "terraform workspace": lambda: check_workspace_name("staging\n"),
    "prerelease token": lambda: check_token("rc\n"),
}


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
def test_trailing_newline_is_refused(check):
    with pytest.raises(ConfigurationError):
        check()


def test_release_id_with_a_newline_creates_no_directory(tmp_path):
    artifact = tmp_path / "app.tar.gz"
    artifact.write_bytes(b"not unpacked")
    with pytest.raises(ConfigurationError, match="not usable as a directory name"):
        _rollout.rollout({"root": str(tmp_path / "root"), "artifact_path": str(artifact), "release_id": "rel\n"})
    assert not os.path.exists(tmp_path / "root" / "releases" / "rel\n")


def test_versions_with_a_newline_do_not_sort_as_releases():
    assert _artifacts.version_key("1.0.0\n") is None
    assert _package._SHA256.match("0" * 64 + "\n") is None


def test_migration_file_names_and_pushgateway_labels_match_whole_values():
    assert parse_name("V1__init.sql\n") is None
    assert group_url("http://gw:9091", "job", {"stage": "build\n"}) == "http://gw:9091/metrics/job/job/stage/build%0A"
    with pytest.raises(ConfigurationError, match="is not a metric name"):
        render([{"name": "up\n", "value": 1}])
