"""The replay source: a MarketData source over history files, with its own clock.

In: 1-minute (or finer-than-asked) candles of some markets and a replay speed. Out: the same
``fetch_candles`` answers a live exchange would give at replay time "now": candles that have
opened by then, the last one still forming, coarser timeframes resampled from the file's.
Speeds: ``real`` (1 replay second per second), ``×N`` (N per second) or ``max`` (the whole
history is already in the past: as fast as the pipeline takes it). The clock starts at the
first candle and jumps forward to market times the engine has already seen (``observe``:
after a restart it resumes where the published candles end, not at the beginning).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.candles import Fetched, close_time, floor_time, resample, timeframe_delta
from ..models import Candle
from .errors import UnknownMarket

MAX_SPEED = float("inf")


@dataclass
class ReplayClock:
    """Replay time: ``start`` plus elapsed wall time times ``speed`` (``inf``: end of history),
    moved forward by :meth:`observe`, never past ``end``."""

    start: datetime
    end: datetime
    speed: float = MAX_SPEED
    monotonic: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        self._origin = self.monotonic()
        self._at_origin = self.start  # replay time at wall time ``_origin``

    def now(self) -> datetime:
        if self.speed == MAX_SPEED:
            return self.end
        elapsed = timedelta(seconds=(self.monotonic() - self._origin) * self.speed)
        return min(self._at_origin + elapsed, self.end)

    def observe(self, moment: datetime) -> None:
        """Jump to ``moment`` if the clock is behind it (never back, never past ``end``); the
        speed stays, so replay time goes on from there."""
        if self.now() >= moment:
            return
        self._origin = self.monotonic()
        self._at_origin = min(moment, self.end)


def parse_speed(text: str) -> float:
    """``real`` -> 1, ``x60``/``60`` -> 60, ``max`` -> infinity."""
    value = text.strip().lower()
    if value == "max":
        return MAX_SPEED
    if value == "real":
        return 1.0
    speed = float(value.removeprefix("x").removeprefix("×"))
    if speed <= 0:
        raise ValueError("replay speed must be positive")
    return speed


class ReplayExchange:
    """Serves ``candles`` (by symbol, one base timeframe) as an exchange would at replay time."""

    def __init__(
        self,
        exchange_id: str,
        candles: Mapping[str, Sequence[Candle]],
        speed: float = MAX_SPEED,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not candles or not all(candles.values()):
            raise ValueError("a replay needs at least one candle per market")
        self._exchange_id = exchange_id
        self._candles = {symbol: sorted(rows, key=lambda c: c.open_time) for symbol, rows in candles.items()}
        self._times = {symbol: [row.open_time for row in rows] for symbol, rows in self._candles.items()}
        self._base = {symbol: rows[0].timeframe for symbol, rows in self._candles.items()}
        first = min(rows[0].open_time for rows in self._candles.values())
        last = max(close_time(rows[-1]) for rows in self._candles.values())
        self.clock = ReplayClock(first, last, speed, monotonic)

    @property
    def exchange_id(self) -> str:
        return self._exchange_id

    async def now(self) -> datetime:
        return self.clock.now()

    async def observe(self, moment: datetime) -> None:
        """The engine has published up to ``moment`` (say before a restart): the clock resumes there."""
        self.clock.observe(moment)

    async def close(self) -> None:
        """Nothing to release: the history is in memory."""

    async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
        rows = self._candles.get(symbol)
        if rows is None:
            raise UnknownMarket(f"{self._exchange_id} replay has no {symbol}")
        base = self._base[symbol]
        if timeframe_delta(timeframe) < timeframe_delta(base):
            raise UnknownMarket(f"{symbol} is recorded in {base}; {timeframe} cannot be replayed")
        now = self.clock.now()
        start = floor_time(since, timeframe)
        times = self._times[symbol]
        visible = list(rows[bisect.bisect_left(times, start) : bisect.bisect_left(times, now)])  # opened by now
        candles = visible if timeframe == base else resample(visible, timeframe)
        return [c for c in candles if c.open_time >= since][:limit]
