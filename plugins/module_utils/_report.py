# Copyright: conveyor.cicd contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pipeline report: one self-contained HTML page (inline CSS and SVG, no external assets).

Everything taken from the event store is HTML-escaped, and ``://`` is written as a character
reference so that no URL appears in the page source. The page holds no wall-clock time of its
own ("data as of" is the latest event), so an unchanged store renders byte-identical HTML.
"""

from __future__ import annotations

import html
import os

from ansible_collections.conveyor.cicd.plugins.module_utils._atomic import write_if_changed
from ansible_collections.conveyor.cicd.plugins.module_utils._errors import ConfigurationError
from ansible_collections.conveyor.cicd.plugins.module_utils._events import (
    BAND_DESCRIPTIONS,
    BANDS,
    EventStore,
    compute_dora,
    human_duration,
    iso,
)

STAGE_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac")
STATUS_COLORS = {
    "success": "#2e8540",
    "failed": "#c62828",
    "rolled_back": "#ef6c00",
    "aborted": "#6d4c41",
    "running": "#757575",
}
BAND_COLORS = {"elite": "#1b5e20", "high": "#43a047", "medium": "#f9a825", "low": "#c62828", None: "#9e9e9e"}

CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;margin:0;background:#f4f5f7;color:#1f2328}
header{background:#24292f;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#d0d7de;font-size:14px}
main{padding:16px 32px 40px;max-width:1200px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:17px;margin:0 0 12px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
.tile{flex:1 1 220px;border:1px solid #d0d7de;border-radius:8px;padding:12px 14px}
.tile .name{font-size:13px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:26px;font-weight:600;margin:6px 0}
.tile .detail{font-size:13px;color:#57606a}
.band{display:inline-block;color:#fff;border-radius:10px;padding:1px 10px;font-size:12px;font-weight:600}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{color:#57606a;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.status{font-weight:600}
.muted{color:#57606a;font-size:13px}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
svg text{font-family:inherit;font-size:12px;fill:#1f2328}
"""


def esc(value) -> str:
    """HTML-escape a value from the store; ``://`` becomes ``&#58;//`` so no URL is in the source."""
    if value is None:
        return ""
    return html.escape(str(value), quote=True).replace("://", "&#58;//")


def _status(status) -> str:
    color = STATUS_COLORS.get(status, "#757575")
    return f'<span class="status" style="color:{color}">{esc(status)}</span>'


def _band(band) -> str:
    return f'<span class="band" style="background:{BAND_COLORS.get(band, "#9e9e9e")}">{esc(band or "no data")}</span>'


def _seconds(value) -> str:
    return esc(human_duration(value) if value is not None else "-")


# ---------------------------------------------------------------------------------------------
# Sections


def _header(title: str, store: EventStore) -> str:
    as_of = iso(store.latest_time())
    line = f"{store.run_count()} recorded runs" + (f", data as of {as_of}" if as_of else "")
    return f"<header><h1>{esc(title)}</h1><p>{esc(line)}</p></header>"


def _last_run_summary(run) -> str:
    if not run:
        return '<p class="muted">No finished run is recorded yet.</p>'
    return (
        '<table class="summary"><tr><th>Playbook</th><th>Status</th><th>Started</th><th class="num">Duration</th>'
        '<th class="num">Changed</th><th class="num">Failed</th><th>Hosts</th></tr>'
        f"<tr><td>{esc(run['playbook'])}</td><td>{_status(run['status'])}</td><td>{esc(iso(run['started']))}</td>"
        f'<td class="num">{_seconds(run["duration"])}</td><td class="num">{run["changed"]}</td>'
        f'<td class="num">{run["failed"] + run["unreachable"]}</td><td>{esc(", ".join(run["hosts"]))}</td></tr></table>'
    )


def _timeline(run, stages) -> str:
    """A Gantt-like chart: one row per stage, bars placed by start and length within the run."""
    if not run or not stages:
        return '<p class="muted">No stages recorded for the last run.</p>'
    label_w, chart_w, row_h, top = 260, 760, 26, 24
    total = max(run["duration"] or 0.0, max((s["ended"] or s["started"]) - run["started"] for s in stages), 0.001)
    height = top + row_h * len(stages) + 10
    parts = [
        f'<svg class="timeline" role="img" aria-label="Stage timeline of the last run" width="{label_w + chart_w + 90}" '
        f'height="{height}" viewBox="0 0 {label_w + chart_w + 90} {height}">'
    ]
    for tick in range(5):
        x = label_w + chart_w * tick / 4
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 6}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle">{_seconds(total * tick / 4)}</text>')
    for index, stage in enumerate(stages):
        y = top + index * row_h
        offset = max(0.0, stage["started"] - run["started"])
        length = max(0.0, (stage["ended"] or stage["started"]) - stage["started"])
        x = label_w + chart_w * offset / total
        width = max(2.0, chart_w * length / total)
        color = STATUS_COLORS.get(stage["status"], "#757575")
        name = stage["name"] if len(stage["name"]) <= 36 else stage["name"][:35] + "\u2026"
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{esc(name)}</text>')
        parts.append(
            f'<rect class="stage" x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{row_h - 8}" rx="3" fill="{color}">'
            f"<title>{esc(stage['name'])}: {esc(stage['status'])}, {_seconds(length)}</title></rect>"
        )
        parts.append(f'<text x="{x + width + 6:.1f}" y="{y + 16}">{_seconds(stage["duration"])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _trend(store: EventStore, runs) -> str:
    """Stacked bars: one bar per run, one segment per stage, so both totals and stages show."""
    if not runs:
        return '<p class="muted">No runs recorded yet.</p>'
    series = [(run, store.stages(run["id"])) for run in runs]
    names: list[str] = []
    for _run, stages in reversed(series):
        for stage in stages:
            if stage["name"] not in names:
                names.append(stage["name"])
    colors = {name: STAGE_COLORS[i % len(STAGE_COLORS)] for i, name in enumerate(names)}
    left, chart_w, chart_h, top = 60, 900, 220, 16
    peak = max(max((run["duration"] or 0.0) for run in runs), 0.001)
    slot = chart_w / len(series)
    bar_w = max(4.0, min(40.0, slot * 0.7))
    parts = [
        f'<svg class="trend" role="img" aria-label="Stage durations over the last runs" width="{left + chart_w + 20}" '
        f'height="{top + chart_h + 40}" viewBox="0 0 {left + chart_w + 20} {top + chart_h + 40}">'
    ]
    for tick in range(5):
        y = top + chart_h - chart_h * tick / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + chart_w}" y2="{y:.1f}" stroke="#eaeef2"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_seconds(peak * tick / 4)}</text>')
    for index, (run, stages) in enumerate(series):
        x = left + slot * index + (slot - bar_w) / 2
        y = top + chart_h
        for stage in stages:
            h = chart_h * (stage["duration"] or 0.0) / peak
            y -= h
            parts.append(
                f'<rect class="segment" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{colors[stage["name"]]}"><title>{esc(stage["name"])}: {_seconds(stage["duration"])} '
                f"({esc(iso(run['started']))})</title></rect>"
            )
        if run["status"] != "success":
            parts.append(
                f'<rect x="{x - 1:.1f}" y="{y - 1:.1f}" width="{bar_w + 2:.1f}" height="{top + chart_h - y + 2:.1f}" '
                f'fill="none" stroke="{STATUS_COLORS["failed"]}" stroke-width="2"/>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{top + chart_h + 16}" text-anchor="middle">{index + 1 - len(series)}</text>'
        )
    parts.append("</svg>")
    legend = "".join(f'<span><i style="background:{colors[name]}"></i>{esc(name)}</span>' for name in names)
    note = '<p class="muted">Bars: runs, newest on the right (0); a red outline marks a failed run.</p>'
    return "".join(parts) + f'<div class="legend">{legend}</div>' + note


def _tests(store: EventStore) -> str:
    run, rows = store.latest_tests()
    if not rows:
        return '<p class="muted">No test results recorded (they come from conveyor.cicd.test_suite tasks).</p>'
    width, bar_h = 420, 14
    body = []
    for row in rows:
        total = max(row["tests"], 1)
        passed_w = width * row["passed"] / total
        failed_w = width * (row["failed"] + row["errors"]) / total
        skipped_w = width * row["skipped"] / total
        meter = (
            f'<svg class="tests" width="{width}" height="{bar_h}" viewBox="0 0 {width} {bar_h}">'
            f'<rect width="{width}" height="{bar_h}" fill="#eaeef2"/>'
            f'<rect width="{passed_w:.1f}" height="{bar_h}" fill="{STATUS_COLORS["success"]}"/>'
            f'<rect x="{passed_w:.1f}" width="{failed_w:.1f}" height="{bar_h}" fill="{STATUS_COLORS["failed"]}"/>'
            f'<rect x="{passed_w + failed_w:.1f}" width="{skipped_w:.1f}" height="{bar_h}" fill="#bdbdbd"/></svg>'
        )
        body.append(
            f"<tr><td>{esc(row['suite'] or row['task'])}</td><td>{esc(row['host'])}</td>"
            f'<td class="num">{row["tests"]}</td><td class="num">{row["passed"]}</td><td class="num">{row["failed"]}</td>'
            f'<td class="num">{row["errors"]}</td><td class="num">{row["skipped"]}</td>'
            f'<td class="num">{_seconds(row["duration"])}</td><td>{meter}</td></tr>'
        )
    return (
        f'<p class="muted">From the run of {esc(iso(run["started"]))} ({esc(run["playbook"])}).</p>'
        '<table><tr><th>Suite</th><th>Host</th><th class="num">Tests</th><th class="num">Passed</th>'
        '<th class="num">Failed</th><th class="num">Errors</th><th class="num">Skipped</th><th class="num">Time</th>'
        "<th></th></tr>" + "".join(body) + "</table>"
    )


def _dora(metrics: dict) -> str:
    freq, lead = metrics["deployment_frequency"], metrics["lead_time"]
    cfr, ttr = metrics["change_failure_rate"], metrics["time_to_restore"]
    tiles = [
        (
            "Deployment frequency",
            f"{freq['per_week']:.2f} / week" if freq["deployments"] else "-",
            f"{freq['successful']} successful of {freq['deployments']} deployments ({freq['per_day']:.2f} / day)",
            freq["band"],
        ),
        (
            "Lead time for changes",
            lead["median_human"] or "-",
            f"median of {lead['count']}; p90 {lead['p90_human'] or '-'}",
            lead["band"],
        ),
        (
            "Change failure rate",
            f"{cfr['percent']:.1f}%" if cfr["percent"] is not None else "-",
            f"{cfr['failed_deployments']} of {cfr['deployments']} deployments failed or were rolled back",
            cfr["band"],
        ),
        (
            "Time to restore",
            ttr["median_human"] or "-",
            f"median of {ttr['restored']} restored incidents, {ttr['unresolved']} open",
            ttr["band"],
        ),
    ]
    html_tiles = "".join(
        f'<div class="tile"><div class="name">{esc(name)}</div><div class="value">{esc(value)}</div>'
        f'<div>{_band(band)}</div><div class="detail">{esc(detail)}</div></div>'
        for name, value, detail, band in tiles
    )
    legend_rows = "".join(
        f"<tr><td>{esc(label)}</td>" + "".join(f"<td>{esc(BAND_DESCRIPTIONS[key][b])}</td>" for b in BANDS) + "</tr>"
        for key, label in (
            ("deployment_frequency", "Deployment frequency"),
            ("lead_time", "Lead time (median)"),
            ("change_failure_rate", "Change failure rate"),
            ("time_to_restore", "Time to restore (median)"),
        )
    )
    legend = (
        '<table class="bands"><tr><th>Band (2023 State of DevOps)</th>'
        + "".join(f"<th>{_band(b)}</th>" for b in BANDS)
        + "</tr>"
        + legend_rows
        + "</table>"
    )
    return f'<div class="tiles">{html_tiles}</div><p class="muted">Performance bands:</p>{legend}'


def _deployments(store: EventStore, per_environment: int) -> str:
    by_env = store.last_deployments(per_environment)
    if not by_env:
        return '<p class="muted">No deployments recorded yet.</p>'
    rows = []
    for environment, items in by_env.items():
        for index, item in enumerate(items):
            commit = (item["commit"] or "")[:12]
            rows.append(
                f"<tr><td>{esc(environment) if index == 0 else ''}</td><td>{esc(iso(item['at']))}</td>"
                f"<td>{esc(item['kind'])}</td><td>{esc(item['version'])}</td><td><code>{esc(commit)}</code></td>"
                f"<td>{_status(item['status'])}</td><td>{esc(', '.join(item['hosts']))}</td></tr>"
            )
    return (
        "<table><tr><th>Environment</th><th>Finished</th><th>Kind</th><th>Version</th><th>Commit</th><th>Result</th>"
        "<th>Hosts</th></tr>" + "".join(rows) + "</table>"
    )


def _failures(store: EventStore, run) -> str:
    rows = store.failures(run["id"]) if run else []
    if not rows:
        return '<p class="muted">No failures in the last run.</p>'
    body = "".join(
        f"<tr><td>{esc(row['task'])}</td><td>{esc(row['host'])}</td><td>{esc(row['message'])}</td>"
        f"<td>{'ignored' if row['ignored'] else ''}</td></tr>"
        for row in rows
    )
    return "<table><tr><th>Task</th><th>Host</th><th>Message</th><th></th></tr>" + body + "</table>"


def render_report(
    store: EventStore,
    title: str = "Pipeline report",
    runs: int = 20,
    environment: str = "production",
    days: float = 30,
    now=None,
    failure_window="1d",
    deployments_per_environment: int = 5,
    include_current: bool = True,
) -> tuple[str, dict]:
    """The HTML page and the DORA metrics it shows."""
    if int(runs) < 1:
        raise ConfigurationError("runs must be at least 1: it is how many runs the trend chart shows")
    if int(deployments_per_environment) < 1:
        raise ConfigurationError("deployments_per_environment must be at least 1")
    recent = store.runs(limit=int(runs))
    # the run that writes the report is still running: show its finished stages as the last run
    last = (store.current_run() if include_current else None) or (recent[-1] if recent else None)
    stages = store.stages(last["id"]) if last else []
    metrics = compute_dora(store, environment=environment, days=days, now=now, failure_window=failure_window)
    days_text = f"{metrics['window']['days']:g}"
    sections = [
        ("Last run", _last_run_summary(last)),
        (f"DORA metrics: {environment}, last {days_text} days", _dora(metrics)),
        ("Timeline of the last run", _timeline(last, stages)),
        (
            f"Stage durations over the last {len(recent)} runs"
            if len(recent) != 1
            else "Stage durations of the last run",
            _trend(store, recent),
        ),
        ("Tests", _tests(store)),
        ("Last deployments per environment", _deployments(store, int(deployments_per_environment))),
        ("Failures in the last run", _failures(store, last)),
    ]
    body = "".join(f"<section><h2>{esc(name)}</h2>{content}</section>" for name, content in sections)
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"{_header(title, store)}<main>{body}</main></body></html>\n"
    )
    return page, metrics


def write_report(dest: str, content: str, check_mode: bool = False) -> bool:
    """Write ``content`` atomically when it differs from the file; True when it did (or would)."""
    dest = os.path.abspath(os.path.expanduser(dest))
    if os.path.isdir(dest):
        raise ConfigurationError(f"dest {dest} is a directory: give the path of the HTML file to write")
    return write_if_changed(dest, content.encode("utf-8"), check_mode, 0o644)
