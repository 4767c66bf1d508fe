"""Candles: the timeframe grid, what counts as closed and valid, what is new, and resampling (pure).

In: candles as an exchange or a file gave them (any order, duplicates, the forming one, gaps),
the last open time already published for the market, and "now" from the caller's clock.
Out: the candles to publish (closed, valid, new, in order, each open time once), the rejected
ones with their reason, the window to fetch next, and coarser candles built from finer ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import field
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from ..models import Candle
from ..models.market import OnMarket
from .markets import TIMEFRAMES
from .values import value

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
WEEK_ANCHOR = datetime(1970, 1, 5, tzinfo=timezone.utc)  # exchanges start weeks on Monday


def timeframe_delta(timeframe: str) -> timedelta:
    """The length of one candle of ``timeframe``; KeyError for an unknown timeframe."""
    return TIMEFRAMES[timeframe]


def _anchor(timeframe: str) -> datetime:
    return WEEK_ANCHOR if timeframe == "1w" else EPOCH


def floor_time(moment: datetime, timeframe: str) -> datetime:
    """The open time of the ``timeframe`` candle that contains ``moment``."""
    delta = timeframe_delta(timeframe)
    anchor = _anchor(timeframe)
    return anchor + ((moment - anchor) // delta) * delta


def on_grid(moment: datetime, timeframe: str) -> bool:
    """True when ``moment`` is an open time of ``timeframe`` candles."""
    return floor_time(moment, timeframe) == moment


@value
class InvalidCandle(OnMarket):
    """A row an exchange sent that cannot even be a ``Candle`` (NaN, missing value): kept as text."""

    exchange: str
    symbol: str
    timeframe: str
    open_time: datetime
    raw: str
    reason: str


Fetched = Candle | InvalidCandle


def close_time(candle: Fetched) -> datetime:
    """When ``candle`` closes (the open time of the next one)."""
    return candle.open_time + timeframe_delta(candle.timeframe)


def is_closed(candle: Fetched, now: datetime) -> bool:
    """True when ``candle`` can no longer change at time ``now``."""
    return close_time(candle) <= now


def candle_problem(candle: Candle) -> str | None:
    """Why ``candle`` is invalid, or None. (Records already refuse NaN and naive times.)"""
    if candle.timeframe not in TIMEFRAMES:
        return f"unknown timeframe {candle.timeframe!r}"
    if not on_grid(candle.open_time, candle.timeframe):
        return f"open time {candle.open_time.isoformat()} is not on the {candle.timeframe} grid"
    if candle.high < candle.low:
        return f"high {candle.high} is below low {candle.low}"
    if min(candle.open, candle.high, candle.low, candle.close) <= 0:
        return "prices must be positive"
    if not (candle.low <= candle.open <= candle.high and candle.low <= candle.close <= candle.high):
        return "open and close must lie between low and high"
    if candle.volume < 0:
        return f"negative volume {candle.volume}"
    return None


@value
class Selection:
    """The outcome of :func:`select_new`."""

    publish: list[Candle] = field(default_factory=list)
    invalid: list[tuple[Fetched, str]] = field(default_factory=list)
    duplicates: int = 0
    forming: int = 0

    @property
    def last_open(self) -> datetime | None:
        return self.publish[-1].open_time if self.publish else None


def select_new(candles: Iterable[Fetched], last_open: datetime | None, now: datetime) -> Selection:
    """Closed, valid candles newer than ``last_open``, in order, each open time once, each linked
    to the one published before it (``previous_open``).

    A second candle with an open time already seen (in this batch or published before) is a
    duplicate and dropped: the first closed version of a candle is the one that counts.
    """
    publish: list[Candle] = []
    invalid: list[tuple[Fetched, str]] = []
    seen: set[datetime] = set()
    duplicates = forming = 0
    for candle in sorted(candles, key=lambda c: c.open_time):
        if (last_open is not None and candle.open_time <= last_open) or candle.open_time in seen:
            duplicates += 1
            continue
        if not is_closed(candle, now):
            forming += 1
            continue
        seen.add(candle.open_time)
        if isinstance(candle, InvalidCandle):
            invalid.append((candle, candle.reason))
        elif (problem := candle_problem(candle)) is not None:
            invalid.append((candle, problem))
        else:
            publish.append(candle.derive(previous_open=publish[-1].open_time if publish else last_open))
    return Selection(publish, invalid, duplicates, forming)


@value
class FetchWindow:
    """Ask the exchange for up to ``limit`` candles opening at or after ``since``."""

    since: datetime
    limit: int


def next_window(
    last_open: datetime | None, timeframe: str, now: datetime, lookback: int, max_limit: int
) -> FetchWindow | None:
    """What to fetch next for a market, or None when no new candle can have closed yet.

    After ``last_open`` (a restart or an outage) it asks from the next open time, so gaps are
    backfilled; a market never collected starts ``lookback`` candles back.
    """
    delta = timeframe_delta(timeframe)
    newest_closed_open = floor_time(now, timeframe) - delta
    since = last_open + delta if last_open is not None else newest_closed_open - (lookback - 1) * delta
    if since > newest_closed_open:
        return None
    missing = (newest_closed_open - since) // delta + 1
    # one more than missing, so the forming candle shows the exchange is up to date
    return FetchWindow(since, min(max_limit, missing + 1))


def resample(candles: Sequence[Candle], timeframe: str) -> list[Candle]:
    """Coarser candles from finer ones of one market: empty buckets (gaps) give no candle."""
    buckets: dict[datetime, list[Candle]] = {}
    for candle in sorted(candles, key=lambda c: c.open_time):
        buckets.setdefault(floor_time(candle.open_time, timeframe), []).append(candle)
    return [_merge(group, open_time, timeframe) for open_time, group in buckets.items()]


def _merge(group: list[Candle], open_time: datetime, timeframe: str) -> Candle:
    first = group[0]
    return Candle(
        exchange=first.exchange,
        symbol=first.symbol,
        timeframe=timeframe,
        open_time=open_time,
        open=first.open,
        high=max(c.high for c in group),
        low=min(c.low for c in group),
        close=group[-1].close,
        volume=sum((c.volume for c in group), Decimal(0)),
    )
