"""The pipeline report renders in a real browser: headless Chromium takes a screenshot and dumps the DOM."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from ansible_collections.conveyor.cicd.plugins.module_utils._events import EventStore
from ansible_collections.conveyor.cicd.plugins.module_utils._report import render_report, write_report
from tests.support.events import NOW, build_report_store
from tests.support.paths import require_binary

pytestmark = pytest.mark.e2e

WIDTH, HEIGHT = 1280, 2000
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """Width, height, bytes per pixel and unfiltered rows of an 8-bit RGB/RGBA PNG (stdlib only)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color_type, _compression, _filter, interlace = header
    assert depth == 8 and color_type in (2, 6) and interlace == 0, f"unsupported PNG {header}"
    bpp = 3 if color_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = previous[i]
            corner = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, bpp, rows


def chromium(*args: str, user_data: Path) -> subprocess.CompletedProcess:
    binary = require_binary("chromium", "the report render test screenshots the page")
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("report")
    with EventStore(str(build_report_store(workdir / "events.db")), readonly=True) as store:
        page, _metrics = render_report(store, title="conveyor pipeline", now=NOW)
    dest = workdir / "report.html"
    write_report(str(dest), page)
    return dest


def test_report_screenshot_is_a_rendered_page(report, tmp_path):
    shot = tmp_path / "report.png"
    proc = chromium(
        f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", report.as_uri(), user_data=tmp_path / "profile"
    )
    assert shot.exists(), f"no screenshot; chromium said:\n{proc.stderr[-2000:]}"
    width, height, bpp, rows = decode_png(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)

    def is_white(row: bytes, x: int) -> bool:
        return all(channel >= 245 for channel in row[x * bpp : x * bpp + 3])

    sampled = [(x, y) for y in range(0, height, 4) for x in range(0, width, 4)]
    colored = sum(1 for x, y in sampled if not is_white(rows[y], x))
    # the page background is light grey and the charts are coloured: far from a blank page
    assert colored / len(sampled) > 0.2
    # the dark header band is at the top
    top = rows[10]
    assert all(channel < 80 for channel in top[20 * bpp : 20 * bpp + 3])
    # saturated chart colours (bars, band chips) are present, not just text
    distinct = {rows[y][x * bpp : x * bpp + 3] for x, y in sampled}
    assert len(distinct) > 50


def test_report_dom_holds_the_charts(report, tmp_path):
    proc = chromium("--dump-dom", report.as_uri(), user_data=tmp_path / "profile")
    dom = proc.stdout
    assert "<svg" in dom, proc.stderr[-2000:]
    assert dom.count('class="stage"') == 5
    assert dom.count('class="segment"') >= 30
    assert dom.count('class="tile"') == 4
    assert "Deployment frequency" in dom
