"""A backtest report as one self-contained HTML page.

In: a report dict, as the backtest driver writes it::

    {"backtest": {"id", "strategy", "parameters", "exchange", "symbol", "timeframe", "from", "to",
                  "capital", "fee_bps", "slippage_bps", "candles"},
     "metrics": metrics_json(...),
     "trades": [{"number", "side", "quantity", "entry_time", "entry_price", "exit_time", "exit_price",
                 "fee", "pnl", "duration_seconds", "exit_reason"}],
     "equity": [{"time", "equity"}], "candles": [{"time", "open", "high", "low", "close"}],
     "gaps": [{"from", "to"}]}

(times ISO 8601, amounts Decimal strings). Out: the page, a string: a title, the metrics and
the settings, a price chart (candlesticks, each entry and exit marked, its price, PnL and
reason on hover, data gaps shaded) above the equity curve on a shared time axis, the trades
table and the gaps (the tables show the report's amounts as written, the charts plot them as
floats: display only). Plotly's JavaScript is inlined and a Content-Security-Policy forbids any
fetch, so the page opens anywhere, offline. Every string of the report is HTML-escaped, in the
page and in the charts' texts. ValueError, naming the place, for a missing key or a value that
is not a number or a time where one is needed.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

SECTIONS = ("backtest", "metrics", "trades", "equity", "candles", "gaps")
BACKTEST_KEYS = ("id", "strategy", "parameters", "exchange", "symbol", "timeframe", "from", "to", "capital",
                 "fee_bps", "slippage_bps", "candles")  # fmt: skip
TRADE_KEYS = ("number", "side", "quantity", "entry_time", "entry_price", "exit_time", "exit_price", "fee", "pnl",
              "duration_seconds", "exit_reason")  # fmt: skip
ROW_KEYS = {"trades": TRADE_KEYS, "equity": ("time", "equity"), "candles": ("time", "open", "high", "low", "close"),
            "gaps": ("from", "to")}  # fmt: skip

# metric -> (label, kind); the kinds say how a value is shown
METRICS: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "percent"),
    "buy_and_hold_return": ("Buy and hold return", "percent"),
    "max_drawdown": ("Max drawdown", "percent"),
    "max_drawdown_duration": ("Max drawdown duration", "duration"),
    "trades": ("Trades", "count"),
    "win_rate": ("Win rate", "percent"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy per trade", "money"),
    "average_trade_duration": ("Average trade duration", "duration"),
    "sharpe": ("Sharpe ratio (annualised)", "ratio"),
    "sortino": ("Sortino ratio (annualised)", "ratio"),
    "exposure": ("Exposure (time in market)", "percent"),
    "final_equity": ("Final equity", "money"),
    "net_pnl": ("Net PnL", "money"),
    "fees": ("Fees", "money"),
}

_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:"
_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1f2933; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #52606d; margin: 0 0 16px; }
.summary { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
thead th { background: #f5f7fa; }
details summary { cursor: pointer; margin-bottom: 8px; }
.win { color: #1a7f37; } .loss { color: #cf222e; }
"""


def render_html(report: dict[str, Any]) -> str:
    """The report as one self-contained HTML page; ValueError for a report missing a required key."""
    _validate(report)
    backtest = report["backtest"]
    quote = _quote(str(backtest["symbol"]))
    title = f"Backtest {backtest['id']}: {backtest['strategy']} on {backtest['exchange']} {backtest['symbol']}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(backtest["timeframe"])} candles from {_e(_shown_time(backtest["from"], "backtest.from"))}'
        f" to {_e(_shown_time(backtest['to'], 'backtest.to'))} (UTC)</p>",
        '<div class="summary">',
        _table(["Metric", "Value"], _metric_rows(report["metrics"], quote)),
        _table(["Setting", "Value"], _setting_rows(backtest)),
        "</div>",
        "<h2>Price and equity</h2>",
        _chart(report),
        f"<h2>Trades ({len(report['trades'])})</h2>",
        _table(_TRADE_HEADERS, [_trade_row(t, i) for i, t in enumerate(report["trades"])]),
        f"<h2>Gaps in the data ({len(report['gaps'])})</h2>",
        _gaps(report["gaps"]),
        "</body></html>",
    ]
    return "\n".join(parts)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# --- checks and values -------------------------------------------------------------------------


def _validate(report: dict[str, Any]) -> None:
    _require(report, SECTIONS, "report")
    _require(report["backtest"], BACKTEST_KEYS, "backtest")
    _require(report["metrics"], tuple(METRICS), "metrics")
    for section, keys in ROW_KEYS.items():
        rows = report[section]
        if not isinstance(rows, list):
            raise ValueError(f"report: {section} must be a list, not {type(rows).__name__}")
        for i, row in enumerate(rows):
            _require(row, keys, f"{section}[{i}]")


def _require(value: object, keys: Sequence[str], where: str) -> None:
    if not isinstance(value, dict):
        raise ValueError(f"report: {where} must be an object, not {type(value).__name__}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise ValueError(f"report: {where} is missing the required key(s) {', '.join(map(repr, missing))}")


def _number(value: object, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"report: {where} is not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"report: {where} is not a finite number: {value!r}")
    return number


def _time(value: object, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"report: {where} is not an ISO 8601 time: {value!r}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _axis_time(value: object, where: str) -> str:
    """A time as plotly's date axes read it: UTC, without an offset."""
    return _time(value, where).strftime("%Y-%m-%d %H:%M:%S")


def _shown_time(value: object, where: str) -> str:
    return _time(value, where).strftime("%Y-%m-%d %H:%M")


def _quote(symbol: str) -> str:
    return symbol.partition("/")[2].split(":")[0]


# --- the tables --------------------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[tuple[str, str]]]) -> str:
    """A table; each cell is (escaped content, css class)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{css}">{content}</td>' if css else f"<td>{content}</td>" for content, css in row)
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _metric_rows(metrics: dict[str, Any], quote: str) -> list[list[tuple[str, str]]]:
    rows = []
    for key, (label, kind) in METRICS.items():
        value = metrics[key]
        shown = "n/a" if value is None else _FORMATS[kind](value, f"metrics.{key}")
        if kind == "money" and value is not None and quote:
            shown = f"{shown} {quote}"
        rows.append([(_e(label), ""), (_e(shown), "num")])
    return rows


def _percent(value: object, where: str) -> str:
    return f"{_number(value, where) * 100:.2f} %"


def _ratio(value: object, where: str) -> str:
    return f"{_number(value, where):.2f}"


def _money(value: object, where: str) -> str:
    """At most 8 decimals, no trailing zeros, never in exponent form."""
    shown = f"{_number(value, where):.8f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def _duration(value: object, where: str) -> str:
    seconds = int(_number(value, where))
    days, rest = divmod(abs(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return ("-" if seconds < 0 else "") + (" ".join(parts) or "0s")


_FORMATS: dict[str, Callable[[object, str], str]] = {
    "percent": _percent,
    "ratio": _ratio,
    "money": _money,
    "duration": _duration,
    "count": lambda value, where: str(int(_number(value, where))),
}


def _setting_rows(backtest: dict[str, Any]) -> list[list[tuple[str, str]]]:
    parameters = backtest["parameters"]
    shown = ", ".join(f"{k}={v}" for k, v in parameters.items()) if isinstance(parameters, dict) else str(parameters)
    settings = [
        ("Strategy", backtest["strategy"]),
        ("Parameters", shown or "none"),
        ("Exchange", backtest["exchange"]),
        ("Symbol", backtest["symbol"]),
        ("Timeframe", backtest["timeframe"]),
        ("From (UTC)", _shown_time(backtest["from"], "backtest.from")),
        ("To (UTC)", _shown_time(backtest["to"], "backtest.to")),
        ("Capital", f"{backtest['capital']} {_quote(str(backtest['symbol']))}".strip()),
        ("Fee", f"{backtest['fee_bps']} bps"),
        ("Slippage", f"{backtest['slippage_bps']} bps"),
        ("Candles", backtest["candles"]),
        ("Backtest id", backtest["id"]),
    ]
    return [[(_e(name), ""), (_e(value), "")] for name, value in settings]


_TRADE_HEADERS = ("#", "Side", "Quantity", "Entry time", "Entry price", "Exit time", "Exit price", "Fee", "PnL",
                  "Duration", "Exit reason")  # fmt: skip


def _trade_row(trade: dict[str, Any], i: int) -> list[tuple[str, str]]:
    where = f"trades[{i}]"
    pnl = _number(trade["pnl"], f"{where}.pnl")
    return [
        (_e(trade["number"]), "num"),
        (_e(trade["side"]), ""),
        (_e(trade["quantity"]), "num"),
        (_e(_axis_time(trade["entry_time"], f"{where}.entry_time")), ""),
        (_e(trade["entry_price"]), "num"),
        (_e(_axis_time(trade["exit_time"], f"{where}.exit_time")), ""),
        (_e(trade["exit_price"]), "num"),
        (_e(trade["fee"]), "num"),
        (_e(trade["pnl"]), "num win" if pnl > 0 else "num loss" if pnl < 0 else "num"),
        (_e(_duration(trade["duration_seconds"], f"{where}.duration_seconds")), "num"),
        (_e(trade["exit_reason"]), ""),
    ]


def _gaps(gaps: list[dict[str, Any]]) -> str:
    if not gaps:
        return "<p>None: every candle of the range is there.</p>"
    rows = []
    for i, gap in enumerate(gaps):
        start, end = _time(gap["from"], f"gaps[{i}].from"), _time(gap["to"], f"gaps[{i}].to")
        length = _duration(int((end - start).total_seconds()), f"gaps[{i}]")
        rows.append([(_e(start.strftime("%Y-%m-%d %H:%M:%S")), ""), (_e(end.strftime("%Y-%m-%d %H:%M:%S")), ""),
                     (_e(length), "num")])  # fmt: skip
    summary = f"{len(gaps)} stretch(es) without candles, shaded grey on the charts"
    return f"<details><summary>{_e(summary)}</summary>{_table(['From', 'To', 'Length'], rows)}</details>"


# --- the charts --------------------------------------------------------------------------------


def _chart(report: dict[str, Any]) -> str:
    """Candles with the trades' marks over the equity curve, one time axis; plotly.js inlined."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.03, row_heights=[0.68, 0.32])
    figure.add_trace(_candles(report["candles"], str(report["backtest"]["symbol"])), row=1, col=1)
    figure.add_trace(_entries(report["trades"]), row=1, col=1)
    figure.add_trace(_exits(report["trades"]), row=1, col=1)
    figure.add_trace(_equity(report["equity"]), row=2, col=1)
    figure.update_layout(
        shapes=_gap_shades(report["gaps"]),
        height=820,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        hovermode="closest",
        legend={"orientation": "h", "y": 1.04, "x": 0},
        xaxis_rangeslider_visible=False,
    )
    figure.update_yaxes(title_text=_e(f"price ({_quote(str(report['backtest']['symbol']))})"), row=1, col=1)
    figure.update_yaxes(title_text="equity", row=2, col=1)
    figure.update_xaxes(title_text="time (UTC)", row=2, col=1)
    config = {"displaylogo": False, "responsive": True}
    return str(figure.to_html(full_html=False, include_plotlyjs=True, include_mathjax=False, config=config))


def _gap_shades(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A grey band over both charts per gap (one list: plotly's add_vrect is quadratic in the shapes)."""
    return [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "y0": 0,
            "y1": 1,
            "layer": "below",
            "line": {"width": 0},
            "fillcolor": "#9aa5b1",
            "opacity": 0.2,
            "x0": _axis_time(g["from"], f"gaps[{i}].from"),
            "x1": _axis_time(g["to"], f"gaps[{i}].to"),
        }
        for i, g in enumerate(gaps)
    ]


def _candles(candles: list[dict[str, Any]], symbol: str) -> go.Candlestick:
    def column(key: str) -> list[float]:
        return [float(_number(c[key], f"candles[{i}].{key}")) for i, c in enumerate(candles)]

    times = [_axis_time(c["time"], f"candles[{i}].time") for i, c in enumerate(candles)]
    return go.Candlestick(x=times, open=column("open"), high=column("high"), low=column("low"),
                          close=column("close"), name=_e(symbol))  # fmt: skip


def _entries(trades: list[dict[str, Any]]) -> go.Scatter:
    times, prices, symbols, texts = [], [], [], []
    for i, t in enumerate(trades):
        times.append(_axis_time(t["entry_time"], f"trades[{i}].entry_time"))
        prices.append(float(_number(t["entry_price"], f"trades[{i}].entry_price")))
        symbols.append("triangle-down" if str(t["side"]) == "sell" else "triangle-up")
        texts.append(f"entry #{_e(t['number'])}: {_e(t['side'])} {_e(t['quantity'])}<br>price {_e(t['entry_price'])}"
                     f"<br>trade pnl {_e(t['pnl'])} ({_e(t['exit_reason'])})")  # fmt: skip
    marker = {"symbol": symbols, "size": 12, "color": "#2563eb", "line": {"width": 1, "color": "#0b1f4d"}}
    return go.Scatter(x=times, y=prices, mode="markers", name="entries", marker=marker, hovertext=texts,
                      hoverinfo="text")  # fmt: skip


def _exits(trades: list[dict[str, Any]]) -> go.Scatter:
    times, prices, colours, texts = [], [], [], []
    for i, t in enumerate(trades):
        times.append(_axis_time(t["exit_time"], f"trades[{i}].exit_time"))
        prices.append(float(_number(t["exit_price"], f"trades[{i}].exit_price")))
        colours.append("#1a7f37" if _number(t["pnl"], f"trades[{i}].pnl") > 0 else "#cf222e")
        texts.append(f"exit #{_e(t['number'])}: {_e(t['exit_reason'])}<br>price {_e(t['exit_price'])}"
                     f"<br>pnl {_e(t['pnl'])} (fee {_e(t['fee'])})")  # fmt: skip
    marker = {"symbol": "x", "size": 11, "color": colours, "line": {"width": 1, "color": "#1f2933"}}
    return go.Scatter(x=times, y=prices, mode="markers", name="exits", marker=marker, hovertext=texts,
                      hoverinfo="text")  # fmt: skip


def _equity(points: list[dict[str, Any]]) -> go.Scatter:
    times = [_axis_time(p["time"], f"equity[{i}].time") for i, p in enumerate(points)]
    values = [float(_number(p["equity"], f"equity[{i}].equity")) for i, p in enumerate(points)]
    return go.Scatter(x=times, y=values, mode="lines", name="equity", line={"color": "#7c3aed", "width": 1.6})
