"""The HTML report in a real browser, offline: Debian's chromium, headless and with every host
name unresolvable, opens a report of 300 real candles and plotly must have drawn its charts (one
candle per candle, a marker per entry and exit, the equity line). The same page with plotly taken
from a CDN instead must draw nothing under the same flags, so the check can fail. The screenshot
is kept in test-artifacts/report.png. Chromium missing is a failure, never a skip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import plotly.offline
import pytest

from r3edge_streams.models import OrderPurpose
from r3edge_streams.reports.html import render_html
from tests.kit.factories import backtest_report

ROOT = Path(__file__).resolve().parents[2]
CANDLES = ROOT / "tests" / "data" / "UNITTEST_BTC-1m.json"
SCREENSHOT = ROOT / "test-artifacts" / "report.png"
CDN_SCRIPT = '<script charset="utf-8" src="https://cdn.plot.ly/plotly-3.1.0.min.js"></script>'
# (entry row, exit row, reason), chosen on the real candles: a loss, a win, a loss, a small loss
TRADES = [
    (20, 60, OrderPurpose.STOP_LOSS),
    (100, 140, OrderPurpose.TAKE_PROFIT),
    (200, 260, OrderPurpose.EXIT),
    (265, 295, OrderPurpose.SESSION_STOP),
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is not installed: apt-get install chromium (the report's browser test needs it)")


def open_offline(page: Path, profile: Path, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """The page's DOM once its scripts ran, and the browser console's lines, with no network at all."""
    command = [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={profile}", "--window-size=1400,1700", "--virtual-time-budget=10000",
               "--enable-logging=stderr", "--v=0", "--dump-dom"]  # fmt: skip
    if screenshot is not None:
        command.append(f"--screenshot={screenshot}")
    out, err = profile.with_suffix(".dom"), profile.with_suffix(".log")  # files: helpers may keep pipes open
    with out.open("w") as stdout, err.open("w") as stderr:
        done = subprocess.run([*command, page.as_uri()], stdout=stdout, stderr=stderr, timeout=180, check=False)
    log = err.read_text(errors="replace")
    assert done.returncode == 0, f"chromium failed ({done.returncode}): {log[-3000:]}"
    return out.read_text(errors="replace"), [line for line in log.splitlines() if ":CONSOLE" in line]


class Drawn(HTMLParser):
    """What plotly drew: counts of (tag, class) for svg roots, trace groups and the paths of points."""

    def __init__(self, dom: str) -> None:
        super().__init__()
        self.count: Counter[tuple[str, str]] = Counter()
        self.feed(dom)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        for name in ("main-svg", "box", "point", "js-line"):
            if name in classes:
                self.count[(tag, name)] += 1
        if tag == "g" and "trace" in classes:
            self.count[
                ("trace", "boxes" if "boxes" in classes else "scatter" if "scatter" in classes else "other")
            ] += 1


def real_report() -> dict[str, object]:
    rows = json.loads(CANDLES.read_text())[:300]
    return backtest_report(rows, TRADES)


def test_plotly_draws_the_report_offline(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(real_report()), encoding="utf-8")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    dom, console = open_offline(page, tmp_path / "profile", SCREENSHOT)
    drawn = Drawn(dom).count
    assert drawn[("svg", "main-svg")] >= 2, drawn
    assert drawn[("trace", "boxes")] == 1, drawn  # the candlesticks
    assert drawn[("path", "box")] == 300, drawn  # one per candle
    assert drawn[("trace", "scatter")] == 3, drawn  # entries, exits, equity
    assert drawn[("path", "point")] == 2 * len(TRADES), drawn  # a marker per entry and per exit
    assert drawn[("path", "js-line")] >= 1, drawn  # the equity curve
    assert not [line for line in console if re.search("Uncaught|Content Security Policy|Failed to load", line)]
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and SCREENSHOT.stat().st_size > 50_000


def test_the_same_page_with_plotly_from_a_cdn_draws_nothing_offline(tmp_path: Path) -> None:
    inline = render_html(real_report())
    bundle = f"<script>{plotly.offline.get_plotlyjs()}</script>"
    assert inline.count(bundle) == 1
    # plotly from the CDN, and no Content-Security-Policy: only the missing network can stop it
    remote = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", inline.replace(bundle, CDN_SCRIPT))
    page = tmp_path / "cdn.html"
    page.write_text(remote, encoding="utf-8")
    dom, console = open_offline(page, tmp_path / "profile")
    drawn = Drawn(dom).count
    assert "Trades (4)" in dom  # the page itself loaded
    assert drawn[("svg", "main-svg")] == 0 and drawn[("path", "box")] == 0 and drawn[("path", "point")] == 0, drawn
    assert sum(n for (kind, _), n in drawn.items() if kind == "trace") == 0, drawn
    assert any("Plotly is not defined" in line for line in console), console
