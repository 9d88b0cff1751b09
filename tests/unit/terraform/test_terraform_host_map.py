"""The host map shape the terraform_hosts inventory plugin accepts."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleParserError

from ansible_collections.conveyor.cicd.plugins.inventory.terraform_hosts import validate_host_map


def test_full_and_minimal_entries():
    hosts = validate_host_map(
        {"web1": {"address": "10.0.0.5", "groups": ["web"], "vars": {"port": 80}}, "bare": {}, "nul": None},
        "output",
    )
    assert hosts["web1"] == {"address": "10.0.0.5", "groups": ["web"], "vars": {"port": 80}}
    assert hosts["bare"] == {"address": None, "groups": [], "vars": {}}
    assert hosts["nul"] == {"address": None, "groups": [], "vars": {}}
    assert validate_host_map(None, "output") == {}


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        (["web1"], "must be a map of host name"),
        ({"web1": "10.0.0.5"}, "host 'web1' must be an object"),
        ({"web1": {"port": 80}}, "unknown keys ['port']; put host variables under 'vars'"),
        ({"web1": {"groups": "web"}}, "'groups' as a list"),
        ({"web1": {"groups": [1]}}, "'groups' as a list"),
        ({"web1": {"vars": []}}, "'vars' as a map"),
        ({"web1": {"address": 10}}, "address that is not a string"),
    ],
)
def test_bad_shapes_are_named(hosts, message):
    with pytest.raises(AnsibleParserError) as caught:
        validate_host_map(hosts, "output 'hosts'")
    assert message in str(caught.value)
