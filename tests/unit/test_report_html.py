"""The HTML report of a backtest: one page that needs no network (plotly inlined, nothing a browser
would fetch), shows the metrics, the settings and every trade, escapes whatever the report holds,
and refuses a report that lacks a key it needs."""

from __future__ import annotations

import copy
import re
from dataclasses import fields
from html.parser import HTMLParser
from typing import Any

import plotly.offline
import pytest

from r3edge_streams.domain.metrics import Metrics
from r3edge_streams.models import OrderPurpose
from r3edge_streams.reports.html import METRICS, render_html
from tests.kit.factories import T0, backtest_report

HOSTILE = "<script>alert(1)</script>"
START_MS = int(T0.timestamp() * 1000)
# minutes 0..7 with minute 4 missing: [open_ms, open, high, low, close, volume]
_PRICES = {  # in hundred-thousandths of BTC, as the replay market's prices go
    0: (100, 102, 99, 101), 1: (101, 105, 100, 104), 2: (104, 104, 97, 98), 3: (98, 99, 95, 96),
    5: (96, 101, 96, 100), 6: (100, 108, 99, 107), 7: (107, 109, 106, 108),
}  # fmt: skip
ROWS = [[START_MS + m * 60_000, *(p / 100_000 for p in prices), 1] for m, prices in _PRICES.items()]
# (entry row, exit row, reason): a winner, a loser, and a winner across the gap (minutes 5 to 7)
TRADES = [(0, 1, OrderPurpose.TAKE_PROFIT), (2, 3, OrderPurpose.STOP_LOSS), (4, 6, OrderPurpose.EXIT)]


def report(strategy: str = "sma_cross") -> dict[str, Any]:
    return backtest_report(ROWS, TRADES, strategy=strategy)


class Page(HTMLParser):
    """The tags of a page (name, attributes), its tables as rows of cell texts, and its styles."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[list[list[str]]] = []
        self.styles: list[str] = []
        self._cell: list[str] | None = None
        self._in_style = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_style:
            self.styles.append(data)

    def table(self, first_header: str) -> list[list[str]]:
        return next(t for t in self.tables if t and t[0] and t[0][0] == first_header)


URL_ATTRIBUTES = {"src", "href", "srcset", "data", "poster", "action", "formaction", "background", "xlink:href"}
REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)


def test_the_page_needs_no_network() -> None:
    page = render_html(report())
    parsed = Page(page)
    assert "<script src=" not in page.lower() and not any(t == "link" for t, _ in parsed.tags)
    for tag, attributes in parsed.tags:
        for name, value in attributes.items():
            if name in URL_ATTRIBUTES and value:
                assert not REMOTE.match(value), f"<{tag} {name}={value!r}> would be fetched"
    assert not any(re.search(r"url\(|@import", style) for style in parsed.styles)
    assert plotly.offline.get_plotlyjs() in page  # the whole bundle, inline
    csp = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in str(csp[0]) and "http" not in str(csp[0])


def test_each_trade_is_in_the_table_and_on_the_chart() -> None:
    data = report()
    page = render_html(data)
    rows = Page(page).table("#")
    assert rows[0] == ["#", "Side", "Quantity", "Entry time", "Entry price", "Exit time", "Exit price", "Fee", "PnL",
                       "Duration", "Exit reason"]  # fmt: skip
    assert len(rows) == 1 + len(data["trades"]) == 4
    for row, t in zip(rows[1:], data["trades"], strict=True):
        entry, exit_ = t["entry_time"][:19].replace("T", " "), t["exit_time"][:19].replace("T", " ")
        assert row == [str(t["number"]), "buy", t["quantity"], entry, t["entry_price"], exit_, t["exit_price"],
                       t["fee"], t["pnl"], row[9], t["exit_reason"]]  # fmt: skip
        assert f"exit #{t['number']}: {t['exit_reason']}\\u003cbr\\u003eprice {t['exit_price']}" in page  # hover text
    assert [r[9] for r in rows[1:]] == ["2m", "2m", "3m"]  # minute 0 to the close of minute 1, ...


def test_the_summary_shows_every_metric_and_setting() -> None:
    data = report()
    parsed = Page(render_html(data))
    metrics = dict((r[0], r[1]) for r in parsed.table("Metric")[1:])
    assert list(metrics) == [label for label, _ in METRICS.values()]
    assert set(METRICS) == {f.name for f in fields(Metrics)}  # every figure of the domain has its row
    assert metrics["Trades"] == "3" and metrics["Win rate"] == "66.67 %"  # 2 of 3 trades won
    assert metrics["Fees"] == f"{data['metrics']['fees'].rstrip('0')} BTC"
    settings = dict((r[0], r[1]) for r in parsed.table("Setting")[1:])
    assert settings["Parameters"] == "fast=5, slow=20" and settings["Fee"] == "10 bps" and settings["Candles"] == "7"
    assert "2017-11-05 12:04:00" in Page(render_html(data)).table("From")[1]  # the missing minute is a gap


def test_a_hostile_report_is_escaped_everywhere() -> None:
    benign = Page(render_html(report()))
    data = report(strategy=HOSTILE)
    data["backtest"]["id"] = HOSTILE
    data["backtest"]["parameters"] = {HOSTILE: HOSTILE}
    data["trades"][0]["exit_reason"] = HOSTILE
    data["trades"][1]["quantity"] = '1" onmouseover="alert(1)'
    page = render_html(data)
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'onmouseover="alert' not in page
    parsed = Page(page)
    assert [t for t, _ in parsed.tags if t == "script"] == [t for t, _ in benign.tags if t == "script"]
    assert not any(name.startswith("on") for _, attributes in parsed.tags for name in attributes)
    assert parsed.table("#")[1][10] == HOSTILE  # shown as text
    assert parsed.table("Setting")[1] == ["Strategy", HOSTILE]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (("equity",), "report is missing the required key(s) 'equity'"),
        (("backtest", "symbol"), "backtest is missing the required key(s) 'symbol'"),
        (("metrics", "sharpe"), "metrics is missing the required key(s) 'sharpe'"),
        (("trades", 1, "pnl"), "trades[1] is missing the required key(s) 'pnl'"),
        (("candles", 0, "close"), "candles[0] is missing the required key(s) 'close'"),
    ],
)
def test_a_report_missing_a_key_is_refused(path: tuple[str | int, ...], message: str) -> None:
    data = copy.deepcopy(report())
    holder: Any = data
    for step in path[:-1]:
        holder = holder[step]
    del holder[path[-1]]
    with pytest.raises(ValueError, match=re.escape(message)):
        render_html(data)


def test_a_value_that_is_not_a_number_or_a_time_is_refused_by_its_place() -> None:
    data = report()
    data["candles"][2]["high"] = "lots"
    with pytest.raises(ValueError, match=r"candles\[2\]\.high is not a number"):
        render_html(data)
    data = report()
    data["equity"][0]["time"] = "yesterday"
    with pytest.raises(ValueError, match=r"equity\[0\]\.time is not an ISO 8601 time"):
        render_html(data)


def test_a_backtest_without_trades_or_gaps_renders() -> None:
    data = backtest_report(ROWS[:3], [])
    parsed = Page(render_html(data))
    assert parsed.table("#") == [parsed.table("#")[0]]
    assert dict((r[0], r[1]) for r in parsed.table("Metric")[1:])["Win rate"] == "n/a"
