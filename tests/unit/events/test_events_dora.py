"""DORA metrics against a hand-computed history (tests/support/events.py).

Window: 30 days ending 2024-05-31T00:00:00Z, so (2024-05-01T00:00Z, 2024-05-31T00:00Z].
Production deployments in the window (d1 is before it, d10 after it, c1 is a check-mode run,
d7 changed nothing, s1 is staging; none of these count):

    d2  05-02 10:05 success     (two hosts; the later one ends the deployment)  lead 1h05m =   3900 s
    d3  05-05 12:00 success     rolled back by r3 at 05-05 14:00 (within 1d)      lead 1d    =  86400 s
    d4  05-10 08:00 failed      (one of two hosts failed)
    d5  05-10 09:00 rolled back (by the rollout itself)
    d6  05-10 11:00 success                                                      lead 30m   =   1800 s
    d8  05-25 09:00 success                                                      lead 2d    = 172800 s
    d9  05-30 20:00 failed      (nothing after it: an open incident)

Deployment frequency: 7 deployments, 4 successful (d2 d3 d6 d8); 4/30 = 0.1333/day, 0.9333/week:
  less than once a week, at least once a month -> medium.
Lead time: [1800, 3900, 86400, 172800]; median (3900+86400)/2 = 45150 s = 12h 32m -> elite (< 1 day);
  p90 nearest rank ceil(0.9*4) = 4th = 172800 s = 2d.
Change failure rate: d3 d4 d5 d9 = 4 of 7 = 0.5714 -> 57.1% -> low (> 15%).
Time to restore: d3 12:00 -> r3 14:00 = 7200 s; d4 08:00 (d5 is the same incident) -> d6 11:00 = 10800 s;
  d9 unresolved. Median (7200+10800)/2 = 9000 s = 2h 30m -> high (< 1 day).
"""

from __future__ import annotations

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._events import (
    EventStore,
    compute_dora,
    human_duration,
    median,
    parse_duration,
    percentile,
)
from tests.support.events import NOW, build_dora_store


@pytest.fixture
def store(tmp_path):
    with EventStore(str(build_dora_store(tmp_path / "events.db")), readonly=True) as opened:
        yield opened


def test_production_metrics_match_the_hand_computed_values(store):
    dora = compute_dora(store, "production", days=30, now=NOW, failure_window="1d")
    assert dora["window"] == {
        "start": "2024-05-01T00:00:00Z",
        "end": "2024-05-31T00:00:00Z",
        "days": 30.0,
        "failure_window_seconds": 86400.0,
    }
    assert dora["deployment_frequency"] == {
        "deployments": 7,
        "successful": 4,
        "per_day": 0.1333,
        "per_week": 0.9333,
        "band": "medium",
    }
    assert dora["lead_time"] == {
        "count": 4,
        "median_seconds": 45150.0,
        "p90_seconds": 172800.0,
        "median_human": "12h 32m",
        "p90_human": "2d",
        "band": "elite",
    }
    assert dora["change_failure_rate"] == {
        "deployments": 7,
        "failed_deployments": 4,
        "rate": 0.5714,
        "percent": 57.1,
        "band": "low",
    }
    assert dora["time_to_restore"] == {
        "incidents": 3,
        "restored": 2,
        "unresolved": 1,
        "median_seconds": 9000.0,
        "median_human": "2h 30m",
        "band": "high",
    }
    assert dora["summary"] == [
        "deployment frequency: 0.9333/week, 4 of 7 deployments succeeded (medium)",
        "lead time for changes: median 12h 32m, p90 2d (elite)",
        "change failure rate: 57.1% (low)",
        "time to restore: median 2h 30m, 1 open (high)",
    ]


def test_rollback_outside_the_failure_window_does_not_make_a_failed_change(store):
    # r3 comes 2h after d3: with a 1h window d3 is a good change, and r3 restores nothing.
    dora = compute_dora(store, "production", days=30, now=NOW, failure_window="1h")
    assert dora["change_failure_rate"]["failed_deployments"] == 3
    assert dora["change_failure_rate"]["rate"] == 0.4286
    assert dora["time_to_restore"]["restored"] == 1
    assert dora["time_to_restore"]["median_seconds"] == 10800.0
    assert dora["time_to_restore"]["median_human"] == "3h"


def test_environments_are_measured_separately(store):
    dora = compute_dora(store, "staging", days=30, now=NOW)
    assert dora["deployment_frequency"]["deployments"] == 1
    assert dora["deployment_frequency"]["per_day"] == 0.0333
    assert dora["deployment_frequency"]["band"] == "medium"  # exactly once in 30 days: at least once a month
    assert dora["lead_time"]["median_seconds"] == 3600.0
    assert dora["change_failure_rate"]["rate"] == 0.0
    assert dora["change_failure_rate"]["band"] == "elite"
    assert dora["time_to_restore"]["incidents"] == 0
    assert dora["time_to_restore"]["band"] is None


def test_short_window_sees_only_its_deployments(store):
    # (05-24, 05-31]: d8 success and d9 failed.
    dora = compute_dora(store, "production", days=7, now=NOW)
    assert dora["deployment_frequency"]["deployments"] == 2
    assert dora["deployment_frequency"]["successful"] == 1
    assert dora["deployment_frequency"]["band"] == "high"  # 1 per 7 days
    assert dora["change_failure_rate"]["percent"] == 50.0
    assert dora["time_to_restore"]["unresolved"] == 1


def test_unknown_environment_has_no_data(store):
    dora = compute_dora(store, "qa", days=30, now=NOW)
    assert dora["deployment_frequency"]["deployments"] == 0
    assert dora["deployment_frequency"]["band"] is None
    assert dora["lead_time"]["median_seconds"] is None
    assert dora["change_failure_rate"]["rate"] is None
    assert dora["change_failure_rate"]["band"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 0}, "days must be greater than 0"),
        ({"now": "yesterday"}, "now 'yesterday' is not a date"),
        ({"failure_window": "soon"}, "failure_window 'soon' is not a duration"),
        ({"environment": ""}, "environment must not be empty"),
    ],
)
def test_bad_parameters_give_one_line(store, kwargs, message):
    args = {"environment": "production", "days": 30, "now": NOW} | kwargs
    with pytest.raises(ConfigurationError, match=message) as caught:
        compute_dora(store, **args)
    assert "\n" not in str(caught.value)


def test_statistics_helpers():
    assert median([5, 1, 3]) == 3.0
    assert median([4, 1, 3, 2]) == 2.5
    assert median([]) is None
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9.0
    assert percentile([10], 90) == 10.0
    assert parse_duration("90") == 90.0
    assert parse_duration("2d") == 172800.0
    assert parse_duration(30) == 30.0
    assert human_duration(3725) == "1h 2m"
    assert human_duration(86400) == "1d"
    assert human_duration(2.25) == "2.2s"
    assert human_duration(45) == "45s"
