"""A backtest from its request to its report: the candles found, checked and run through the driver.

In: a ``BacktestRequest`` (the session spec to test, the range, and where the candles come
from: an OHLCV file, or the exchange's history through the local cache) and, for the
exchange's history, a ``HistoryReader``. Out: the report (``reports.build``: trades, equity,
candles, gaps, metrics) as a JSON-able dict, or ``BacktestInputError`` naming what is wrong
with the request: a file that is not OHLCV, candles out of order or off the grid, a timeframe
finer than the data, a range with no candles, an unknown strategy or parameter.

The candles before the range warm the strategy up, as the strategy agent warms a new window
from the exchange's history; a file of finer candles is resampled to the session's timeframe
(a bucket the file does not cover from its start to its end is left out).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .domain.candles import close_time, resample, timeframe_delta
from .domain.markets import TIMEFRAMES
from .domain.metrics import compute_metrics
from .domain.series import gaps, series_problem
from .domain.sessions import StrategyCheck, spec_errors
from .engines.backtest import Backtest, Progress
from .exchanges.history import HistoryReader
from .exchanges.ohlcv_files import OhlcvFileError, load_ohlcv
from .models import Candle, SessionMode, SessionSpec
from .models.codec import MalformedMessage, parse_model
from .reports.build import backtest_report, candles_json
from .strategies.base import StrategyError
from .strategies.registry import create


class BacktestInputError(ValueError):
    """The backtest cannot run as asked; the message names the problem, ``field`` the input at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class BacktestRequest:
    """What to test and on which candles: ``data`` a file, else the spec's exchange's history."""

    backtest_id: str
    spec: SessionSpec
    start: datetime | None = None
    end: datetime | None = None
    data: Path | None = None


@dataclass(frozen=True)
class Candles:
    """The run's candles, the warm-up before them, and the holes of the range."""

    run: list[Candle]
    warmup: list[Candle]
    gaps: list[tuple[datetime, datetime]]


def parse_spec(payload: dict[str, Any], strategy_check: StrategyCheck | None = None) -> SessionSpec:
    """The session spec a backtest tests (mode ``backtest``), checked as the sessions view checks
    one (``strategy_check``: the deployment's check of its exchange and strategy):
    BacktestInputError naming the first field at fault."""
    try:
        spec = parse_model(SessionSpec, {"mode": SessionMode.BACKTEST.value, "refresh_seconds": 60, **payload})
    except MalformedMessage as exc:
        raise BacktestInputError(exc.reason, exc.field) from None
    errors = spec_errors(spec, frozenset({SessionMode.BACKTEST, SessionMode.PAPER}), strategy_check)
    if errors:
        raise BacktestInputError(errors[0].message, errors[0].field)
    warmup_of(spec)
    return spec


def warmup_of(spec: SessionSpec) -> int:
    """How many candles before the range the strategy needs (BacktestInputError if it cannot be built)."""
    try:
        return max(create(spec.strategy, spec.parameters).warmup - 1, 0)
    except StrategyError as exc:
        raise BacktestInputError(str(exc), "parameters") from None


async def run_backtest(
    request: BacktestRequest, history: HistoryReader | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """The report of ``request`` (see the module's docstring)."""
    spec = request.spec
    needed = warmup_of(spec)
    if request.data is not None:
        candles = from_file(request.data, spec, request.start, request.end, needed)
    elif history is not None:
        candles = await from_history(history, spec, request.start, request.end, needed)
    else:
        raise BacktestInputError("no candles: give a data file or an exchange to read the history of")
    outcome = await Backtest(spec, session_id=request.backtest_id, progress=progress).run(candles.run, candles.warmup)
    metrics = compute_metrics(outcome.trades, outcome.equity, capital=spec.risk.capital,
                              first_close=candles.run[0].close, last_close=candles.run[-1].close,
                              timeframe=spec.timeframe, time_in_market=outcome.in_market)  # fmt: skip
    first, last = candles.run[0].open_time, close_time(candles.run[-1])
    return backtest_report(request.backtest_id, spec, first, last, outcome, metrics, candles.run, candles.gaps)


async def report_candles(request: BacktestRequest, history: HistoryReader | None) -> list[dict[str, str]]:
    """The candles of a backtest's range as its report lists them (for a page made again later)."""
    spec = request.spec
    if request.data is not None:
        found = from_file(request.data, spec, request.start, request.end, 0)
    elif history is not None:
        found = await from_history(history, spec, request.start, request.end, 0)
    else:
        raise BacktestInputError("no candles: give a data file or an exchange to read the history of")
    return candles_json(found.run)


def from_file(path: Path, spec: SessionSpec, start: datetime | None, end: datetime | None, warmup: int) -> Candles:
    """The candles of an OHLCV file for ``spec``'s market and timeframe (resampled if finer)."""
    try:
        loaded = load_ohlcv(path, spec.exchange, spec.symbol, "1m")
    except OhlcvFileError as exc:
        raise BacktestInputError(str(exc)) from None
    except OSError as exc:
        raise BacktestInputError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if not loaded:
        raise BacktestInputError(f"{path}: no candles in the file")
    base = file_timeframe(loaded, path)
    loaded = [c.derive(timeframe=base) for c in loaded]
    problem = series_problem(loaded, base)
    if problem is not None:
        raise BacktestInputError(f"{path}: {problem}")
    return in_range(_resampled(loaded, base, spec.timeframe, path), spec.timeframe, start, end, warmup)


def file_timeframe(candles: Sequence[Candle], path: Path) -> str:
    """The timeframe of a file's candles: the most common step between neighbours (markets have
    gaps, and a stray candle is the series check's to name), which must be a known timeframe."""
    steps = Counter(b.open_time - a.open_time for a, b in zip(candles, candles[1:], strict=False))
    usual = [step for step, _ in steps.most_common() if step.total_seconds() > 0]
    if not usual:
        raise BacktestInputError(f"{path}: fewer than two candles, or all at one time: no timeframe")
    for name, length in TIMEFRAMES.items():
        if length == usual[0]:
            return name
    raise BacktestInputError(f"{path}: its candles are mostly {usual[0]} apart, which is no timeframe")


def _resampled(candles: list[Candle], base: str, timeframe: str, path: Path) -> list[Candle]:
    if timeframe == base:
        return candles
    if timeframe_delta(timeframe) < timeframe_delta(base):
        raise BacktestInputError(f"{path}: its candles are {base}, finer {timeframe} candles cannot be made of them")
    coarse = resample(candles, timeframe)
    reach = candles[-1].open_time + timeframe_delta(base)
    # a bucket only if the file covers it from its start to its end (the first and last may be cut)
    return [c for c in coarse if c.open_time >= candles[0].open_time and close_time(c) <= reach]


def in_range(
    candles: list[Candle], timeframe: str, start: datetime | None, end: datetime | None, warmup: int
) -> Candles:
    """The candles in [start, end), the ``warmup`` ones before, and the range's gaps."""
    if start is not None and end is not None and start >= end:
        raise BacktestInputError(f"the range is empty: from {start.isoformat()} is not before to {end.isoformat()}")
    run = [c for c in candles if (start is None or c.open_time >= start) and (end is None or c.open_time < end)]
    if not run:
        raise BacktestInputError(f"no {timeframe} candles in the range {_span(start, end)}")
    before = [c for c in candles if c.open_time < run[0].open_time][-warmup:] if warmup else []
    holes = gaps(run, timeframe, start or run[0].open_time, end or close_time(run[-1]))
    return Candles(run, before, holes)


async def from_history(
    history: HistoryReader, spec: SessionSpec, start: datetime | None, end: datetime | None, warmup: int
) -> Candles:
    """The candles of the exchange's history (through the local cache) for ``spec``'s market."""
    if start is None or end is None:
        raise BacktestInputError("a backtest on an exchange's history needs a range: from and to")
    if start >= end:
        raise BacktestInputError(f"the range is empty: from {start.isoformat()} is not before to {end.isoformat()}")
    earlier = start - timeframe_delta(spec.timeframe) * warmup * 2  # markets have gaps: look further back
    read = await history.read(spec.symbol, spec.timeframe, earlier, end)
    return in_range(list(read.candles), spec.timeframe, start, end, warmup)


def _span(start: datetime | None, end: datetime | None) -> str:
    return f"from {start.isoformat() if start else 'the start'} to {end.isoformat() if end else 'the end'}"
