"""The HTML report: self-contained, escaped, deterministic, written atomically."""

from __future__ import annotations

import re

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._events import EventStore
from ansible_collections.conveyor.cicd.plugins.module_utils._report import esc, render_report, write_report
from tests.support.events import NOW, build_report_store


@pytest.fixture
def store(tmp_path):
    with EventStore(str(build_report_store(tmp_path / "events.db")), readonly=True) as opened:
        yield opened


def test_report_has_every_section_and_chart(store):
    page, metrics = render_report(store, title="Sample <app>", runs=20, now=NOW)
    assert page.startswith("<!DOCTYPE html>")
    for heading in (
        "Last run",
        "DORA metrics: production, last 30 days",
        "Timeline of the last run",
        "Stage durations over the last",
        "Tests",
        "Last deployments per environment",
        "Failures in the last run",
    ):
        assert f"<h2>{heading}" in page
    # the timeline has one bar per stage of the last run, the trend one segment per stage and run
    assert page.count('<rect class="stage"') == 5
    assert (
        page.count('<rect class="segment"') == 5 * 6 + 12
    )  # 6 pipeline runs + 12 one-stage deploy runs (c1 is check mode)
    assert page.count('<svg class="tests"') == 2
    assert "57.1%" in page and ">low<" in page  # change failure rate tile and its band
    assert metrics["lead_time"]["median_human"] == "12h 32m"
    for band in ("elite", "high", "medium", "low"):
        assert f">{band}</span>" in page


def test_report_is_self_contained_and_escapes_store_values(store):
    page, _metrics = render_report(store, title="Sample <app>", now=NOW)
    assert not re.search(r"https?://", page, re.IGNORECASE)
    assert not re.search(r"""(src|href)\s*=""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    assert "<title>Sample &lt;app&gt;</title>" in page
    assert "integration &lt;api&gt;" in page
    assert "returned 503 &lt;html&gt;" in page
    assert "<html>" not in page.split("<body>", 1)[1]


def test_esc_breaks_urls_but_keeps_their_text():
    assert esc("see http://x.org/<a>") == "see http&#58;//x.org/&lt;a&gt;"
    assert esc(None) == ""


def test_report_of_an_unchanged_store_is_identical(store):
    first, _unused = render_report(store, now=NOW)
    second, _unused = render_report(store, now=NOW)
    assert first == second


def test_report_of_an_empty_store_renders(tmp_path):
    EventStore(str(tmp_path / "empty.db")).close()
    with EventStore(str(tmp_path / "empty.db"), readonly=True) as store:
        page, metrics = render_report(store)
    assert "No finished run is recorded yet." in page
    assert "No deployments recorded yet." in page
    assert metrics["deployment_frequency"]["deployments"] == 0


def test_write_report_is_atomic_idempotent_and_honours_check_mode(tmp_path):
    dest = tmp_path / "out" / "report.html"
    assert write_report(str(dest), "<p>one</p>", check_mode=True) is True
    assert not dest.exists()
    assert write_report(str(dest), "<p>one</p>") is True
    assert dest.read_text() == "<p>one</p>"
    assert write_report(str(dest), "<p>one</p>") is False
    assert write_report(str(dest), "<p>two</p>", check_mode=True) is True
    assert dest.read_text() == "<p>one</p>"
    assert write_report(str(dest), "<p>two</p>") is True
    assert dest.read_text() == "<p>two</p>"
    assert [p.name for p in dest.parent.iterdir()] == ["report.html"]
    with pytest.raises(ConfigurationError, match="is a directory"):
        write_report(str(tmp_path), "x")


def test_bad_report_parameters_give_one_line(store):
    with pytest.raises(ConfigurationError, match="runs must be at least 1"):
        render_report(store, runs=0)


def test_the_running_run_that_asks_for_the_report_is_the_last_run(tmp_path):
    path = build_report_store(tmp_path / "events.db")
    with EventStore(str(path)) as store:
        store.start_run("now-running", "pipeline.yml", 2_000_000_000.0)
        stage = store.start_stage("now-running", 1, "Build this time", 2_000_000_000.0)
        store.finish_stage(stage, 2_000_000_030.0, "success", {"localhost": {"ok": 3}})
        store.start_stage("now-running", 2, "Feedback", 2_000_000_030.0)
    with EventStore(str(path), readonly=True) as store:
        page, _unused = render_report(store, now=NOW)
        finished_only, _unused = render_report(store, now=NOW, include_current=False)
    assert ">running</span>" in page and "Build this time" in page
    assert page.count('<rect class="stage"') == 2
    assert "Build this time" not in finished_only
