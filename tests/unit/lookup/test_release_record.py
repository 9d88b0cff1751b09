"""The release_record lookup: the given release wins, else the record file; bad records are one clear line."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.conveyor.cicd.plugins.lookup.release_record import select_release

MANIFEST = {"name": "app", "version": "1.2.0", "git": {"commit": "abc123"}}


def test_the_publish_jobs_export_gives_its_manifest(tmp_path):
    assert select_release({"manifest": MANIFEST, "version": "1.2.0"}, str(tmp_path / "none.json")) == MANIFEST


def test_a_bare_manifest_is_taken_as_it_is():
    assert select_release(MANIFEST, "") == MANIFEST


def test_the_given_release_wins_over_the_file(tmp_path):
    record = tmp_path / "current.manifest.json"
    record.write_text(json.dumps(dict(MANIFEST, version="1.1.0")))
    assert select_release(MANIFEST, str(record))["version"] == "1.2.0"


def test_without_a_given_release_the_file_is_read(tmp_path):
    record = tmp_path / "current.manifest.json"
    record.write_text(json.dumps(MANIFEST))
    assert select_release(None, str(record)) == MANIFEST


@pytest.mark.parametrize("path", ["", "missing.json"])
def test_no_file_or_no_file_name_is_no_release(tmp_path, path):
    assert select_release(None, str(tmp_path / path) if path else "") == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "is not readable JSON"), ("[1, 2]", "must hold a JSON object")],
)
def test_a_damaged_record_is_one_line_naming_the_file(tmp_path, content, message):
    record = tmp_path / "current.manifest.json"
    record.write_text(content)
    with pytest.raises(AnsibleLookupError, match=message) as caught:
        select_release(None, str(record))
    assert str(record) in str(caught.value) and "\n" not in str(caught.value)


def test_a_release_that_is_not_a_mapping_is_refused():
    with pytest.raises(AnsibleLookupError, match="conveyor_release must be a mapping"):
        select_release("1.2.0", "")
