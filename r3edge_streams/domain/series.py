"""Candle series a backtest runs on: is the series sound, and where are its holes (pure).

In: the candles of one market (as a cache, a file or an exchange gave them), their timeframe,
and for the holes the range [start, end) the series should cover. Out: the first problem of
the series in words that say what and where (index and open time), or None; and the missing
open times of the timeframe's grid, merged into ranges ``(first missing, the open time after
the last missing)``. Nothing here papers over a hole: a gap stays a gap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..models import Candle
from .candles import candle_problem, floor_time, on_grid, timeframe_delta
from .markets import TIMEFRAMES


def series_problem(candles: Sequence[Candle], timeframe: str) -> str | None:
    """The first problem of ``candles`` as one market's ``timeframe`` series, or None.

    Problems: an unknown timeframe, a candle of another market or timeframe than the first one,
    a candle off the timeframe's grid, an open time not after the one before it (out of order
    or repeated), a candle whose values are impossible (``candle_problem``).
    """
    if timeframe not in TIMEFRAMES:
        return f"unknown timeframe {timeframe!r}"
    previous: Candle | None = None
    for index, candle in enumerate(candles):
        problem = _problem(candle, timeframe, candles[0], previous)
        if problem is not None:
            return f"candle {index} (open time {candle.open_time.isoformat()}): {problem}"
        previous = candle
    return None


def _problem(candle: Candle, timeframe: str, first: Candle, previous: Candle | None) -> str | None:
    if candle.timeframe != timeframe:
        return f"its timeframe is {candle.timeframe}, not {timeframe}"
    if (candle.exchange, candle.symbol) != (first.exchange, first.symbol):
        return f"it is of {candle.exchange} {candle.symbol}, not {first.exchange} {first.symbol}"
    if not on_grid(candle.open_time, timeframe):
        return f"it is off the {timeframe} grid"
    if previous is not None and candle.open_time == previous.open_time:
        return "it repeats the open time of the candle before it"
    if previous is not None and candle.open_time < previous.open_time:
        return f"it opens before the candle before it ({previous.open_time.isoformat()}): out of order"
    return candle_problem(candle)


def grid_ceiling(moment: datetime, timeframe: str) -> datetime:
    """The first open time of ``timeframe`` candles at or after ``moment``."""
    floor = floor_time(moment, timeframe)
    return floor if floor == moment else floor + timeframe_delta(timeframe)


def gaps(candles: Sequence[Candle], timeframe: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The open times of the ``timeframe`` grid in [start, end) that no candle has, as merged ranges.

    Each range is ``(first missing open time, the open time after the last missing one)``.
    Candles off the grid or outside the range fill no slot; their order does not matter.
    """
    delta = timeframe_delta(timeframe)
    cursor = grid_ceiling(start, timeframe)
    stop = grid_ceiling(end, timeframe)
    present = sorted({c.open_time for c in candles if start <= c.open_time < end and on_grid(c.open_time, timeframe)})
    missing: list[tuple[datetime, datetime]] = []
    for open_time in present:
        if open_time > cursor:
            missing.append((cursor, open_time))
        cursor = open_time + delta
    if cursor < stop:
        missing.append((cursor, stop))
    return missing
