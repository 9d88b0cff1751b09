"""The Pushgateway engine: the text format, the group URL and bad input (the push itself runs against a real
Pushgateway in tests/integration/monitoring/test_monitoring_role_playbook.py)."""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError, ConveyorError
from ansible_collections.conveyor.cicd.plugins.module_utils._pushgateway import group_url, push, render


def test_render_groups_names_escapes_labels_and_formats_numbers():
    text = render(
        [
            {
                "name": "deploys_total",
                "type": "counter",
                "help": "Deploys.\nAll of them",
                "value": 3,
                "labels": {"env": "prod"},
            },
            {"name": "up", "value": True},
            {"name": "deploys_total", "type": "counter", "value": 2.5, "labels": {"env": 'a"b\\c'}},
            {"name": "ratio", "value": "0.25"},
        ]
    )
    assert text == (
        "# HELP deploys_total Deploys.\\nAll of them\n"
        "# TYPE deploys_total counter\n"
        'deploys_total{env="prod"} 3\n'
        'deploys_total{env="a\\"b\\\\c"} 2.5\n'
        "# TYPE up gauge\n"
        "up 1\n"
        "# TYPE ratio gauge\n"
        "ratio 0.25\n"
    )


def test_group_url_quotes_values_and_uses_base64_where_a_path_cannot_hold_them():
    assert group_url("http://127.0.0.1:9091/", "conveyor pipeline", {"env": "prod", "path": "a/b", "empty": ""}) == (
        "http://127.0.0.1:9091/metrics/job/conveyor%20pipeline/env/prod/path@base64/YS9i/empty@base64/="
    )


def test_check_mode_sends_nothing_and_credentials_are_never_returned():
    result = push("http://user:s3cret@127.0.0.1:1", "job", [{"name": "up", "value": 1}], check_mode=True)
    assert result == {
        "changed": False,
        "pushed": False,
        "url": "http://127.0.0.1:1/metrics/job/job",
        "body": "# TYPE up gauge\nup 1\n",
        "status": None,
    }


def test_an_unreachable_pushgateway_is_one_line():
    with pytest.raises(ConveyorError, match=r"^cannot reach the Pushgateway at http://127.0.0.1:1/metrics/job/j: "):
        push("http://127.0.0.1:1", "j", [{"name": "up", "value": 1}], timeout=2)


@pytest.mark.parametrize(
    ("metrics", "grouping", "message"),
    [
        ([], {}, "metrics must be a non-empty list"),
        ([{"name": "1up", "value": 1}], {}, "'1up' is not a metric name"),
        ([{"name": "up", "value": "high"}], {}, "metric up: value 'high' is not a number"),
        ([{"name": "up", "value": 1, "labels": {"bad-label": "x"}}], {}, "'bad-label' is not a label name"),
        ([{"name": "up", "value": 1}, {"name": "up", "value": 2}], {}, "two samples have the same labels"),
        (
            [
                {"name": "up", "value": 1, "type": "gauge"},
                {"name": "up", "value": 1, "type": "counter", "labels": {"a": "b"}},
            ],
            {},
            "the same for every sample",
        ),
        ([{"name": "up", "value": 1}], {"job": "x"}, "grouping must not repeat job"),
        ([{"name": "up", "value": 1}], {"__name": "x"}, "not starting with __"),
    ],
)
def test_bad_input_is_one_line_before_anything_is_sent(metrics, grouping, message):
    with pytest.raises(ConfigurationError, match=message):
        push("http://127.0.0.1:1", "job", metrics, grouping=grouping)
