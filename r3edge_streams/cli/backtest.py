"""``faust -A r3edge_streams backtest``: a backtest from the command line, no broker needed.

In: the options (``--data FILE`` or ``--exchange ID``, ``--symbol``, ``--timeframe``,
``--strategy``, ``--param name=value``..., ``--from``/``--to`` ISO 8601 UTC, ``--capital``,
``--fee-bps``, ``--slippage-bps``, ``--json OUT``, ``--html OUT``, ``--cache FILE``). Out: a
summary table on standard output, a progress bar on standard error when it is a terminal, the
JSON report and the HTML page where asked, exit code 0; a bad input is one line on standard
error naming the problem, and exit code 2. The exchange's history is read through the local
cache (``--cache``, default ``<R3EDGE_DATA_DIR>/history.sqlite``), so a second run downloads
nothing it has.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO

from faust.cli import AppCommand, option

from ..application import app, settings
from ..backtests import BacktestInputError, BacktestRequest, parse_spec, run_backtest
from ..exchanges.history import CandleCache, HistoryReader
from ..exchanges.registry import ExchangeRegistry
from ..models import MalformedMessage
from ..models.codec import parse_time
from ..reports.html import render_html
from ..services import check_spec

USAGE_ERROR = 2


class DirectCommand(AppCommand):
    """A command run on its own event loop (no Faust worker around it), its result the exit code."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        options = {**self.kwargs, **kwargs}  # click's options, kept by the command's constructor
        raise SystemExit(asyncio.run(self.run(*self.args, *args, **options)) or 0)


@app.command(
    option("--data", type=str, default=None, help="OHLCV file (JSON [[ms, o, h, l, c, v], ...] or CSV)"),
    option("--exchange", type=str, default=None, help="ccxt exchange id whose history to use instead of --data"),
    option("--symbol", type=str, required=True, help="market, e.g. BTC/USDT"),
    option("--timeframe", type=str, default="1m", help="candle timeframe (a file of finer candles is resampled)"),
    option("--strategy", type=str, required=True, help="strategy name, e.g. sma_cross"),
    option("--param", "params", type=str, multiple=True, help="strategy parameter name=value (repeat)"),
    option("--from", "start", type=str, default=None, help="first candle's open time, ISO 8601 (UTC)"),
    option("--to", "end", type=str, default=None, help="end of the range, exclusive, ISO 8601 (UTC)"),
    option("--capital", type=str, default="10000", help="starting equity in the quote currency"),
    option("--fee-bps", type=str, default="10", help="fee per fill in basis points"),
    option("--slippage-bps", type=str, default="0", help="slippage per fill in basis points"),
    option("--json", "json_out", type=str, default=None, help="write the JSON report here"),
    option("--html", "html_out", type=str, default=None, help="write the HTML report here"),
    option("--cache", type=str, default=None, help="candle cache for --exchange (SQLite file)"),
    base=DirectCommand,
)
async def backtest(self: AppCommand, **options: Any) -> int:
    """Backtest a strategy on a market's candles and report its trades and metrics."""
    try:
        request, reader = _request(options)
        report = await _run(request, reader)
    except BacktestInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    _write(report, options.get("json_out"), options.get("html_out"))
    print(summary(report))
    return 0


def _request(options: dict[str, Any]) -> tuple[BacktestRequest, HistoryReader | None]:
    data, exchange = options.get("data"), options.get("exchange")
    if (data is None) == (exchange is None):
        raise BacktestInputError("give exactly one of --data FILE and --exchange ID")
    fields = {
        "strategy": options["strategy"], "parameters": parameters(options.get("params") or ()),
        "exchange": exchange or "replay", "symbol": options["symbol"], "timeframe": options["timeframe"],
        "risk": {"capital": options["capital"]},
        "fills": {"fee_bps": options["fee_bps"], "slippage_bps": options["slippage_bps"]},
    }  # fmt: skip
    spec = parse_spec(fields, check_spec)
    start, end = moment(options.get("start"), "--from"), moment(options.get("end"), "--to")
    request = BacktestRequest("cli", spec, start, end, Path(data) if data else None)
    if exchange is None:
        return request, None
    cache = Path(options.get("cache") or settings.data_dir / "history.sqlite")
    return request, HistoryReader(CandleCache(cache), ExchangeRegistry(settings).get(exchange))


async def _run(request: BacktestRequest, reader: HistoryReader | None) -> dict[str, Any]:
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        return await run_backtest(request, reader, bar.show if bar is not None else None)
    finally:
        if bar is not None:
            bar.done()
        if reader is not None:
            await reader.close()


def parameters(pairs: Sequence[str]) -> dict[str, Any]:
    """``name=value`` pairs as the strategy's parameters (numbers as numbers)."""
    found: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise BacktestInputError(f"--param {pair!r}: expected name=value")
        found[name.strip()] = _number(raw.strip())
    return found


def _number(raw: str) -> Any:
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            continue
    return raw


def moment(raw: str | None, option_name: str) -> datetime | None:
    """An option's ISO 8601 time (UTC when it names no offset)."""
    if raw is None:
        return None
    text = raw.strip().replace("Z", "+00:00")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) or not re.search(r"[+-]\d{2}:?\d{2}$", text):
        text += "T00:00:00+00:00" if "T" not in text and " " not in text else "+00:00"
    try:
        return parse_time(text, option_name)
    except MalformedMessage as exc:
        raise BacktestInputError(f"{option_name} {raw!r}: {exc.reason.split(', got')[0]}") from None


def _write(report: dict[str, Any], json_out: str | None, html_out: str | None) -> None:
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=1))
    if html_out:
        Path(html_out).write_text(render_html(report))


def summary(report: dict[str, Any]) -> str:
    """The report's settings and metrics as a two-column table."""
    run, metrics = report["backtest"], report["metrics"]
    rows = [("strategy", f"{run['strategy']} {json.dumps(run['parameters'], sort_keys=True)}"),
            ("market", f"{run['exchange']} {run['symbol']} {run['timeframe']}"),
            ("range", f"{run['from']} .. {run['to']} ({run['candles']} candles)"),
            *((name, "-" if value is None else str(value)) for name, value in metrics.items()),
            ("gaps", str(len(report["gaps"])))]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


class ProgressBar:
    """A one-line bar on a terminal, redrawn each percent."""

    def __init__(self, out: TextIO, width: int = 40) -> None:
        self._out, self._width, self._shown = out, width, -1

    def show(self, done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self._width * percent // 100
        self._out.write(f"\r[{'#' * filled}{'.' * (self._width - filled)}] {percent:3d}% {done}/{total} candles")
        self._out.flush()

    def done(self) -> None:
        self._out.write("\n")
        self._out.flush()
