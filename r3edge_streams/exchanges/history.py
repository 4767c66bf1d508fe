"""Candle history for backtests and the candles view: a local SQLite cache in front of a MarketData source.

In: a market (the source's exchange, a symbol, a timeframe) and a range [start, end) of open
times; a source (any ccxt exchange through ``CcxtExchange``, or the replay files). Out: the
closed, valid candles of the range in order (exact Decimals, UTC open times), the gaps of the
range (open times with no candle, merged), and how many candles the source sent in the call.

The cache keeps the candles by (exchange, symbol, timeframe, open time), prices as exact
decimal strings, and the ranges it has asked the source for, so a second run asks nothing
again: not the candles it has, and not a gap or the time before a listing it already knows
empty. The source is paged forward from the first open time never asked for; the candle still
forming (closing after the source's ``now()``) is never stored, and a range reaching past
``now()`` is covered only up to the last closed candle the source sent, so a later call asks
for the newer ones. Invalid rows are not stored: they are gaps. Rate limiting and retries are
the source's (``CcxtExchange`` uses ccxt's limiter).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ..domain.candles import EPOCH, Fetched, candle_problem, floor_time, is_closed, timeframe_delta
from ..domain.series import gaps, grid_ceiling
from ..models import Candle
from .market_data import MarketData

MILLISECOND = timedelta(milliseconds=1)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS candles (
    exchange TEXT NOT NULL, symbol TEXT NOT NULL, timeframe TEXT NOT NULL, open_ms INTEGER NOT NULL,
    open TEXT NOT NULL, high TEXT NOT NULL, low TEXT NOT NULL, close TEXT NOT NULL, volume TEXT NOT NULL,
    PRIMARY KEY (exchange, symbol, timeframe, open_ms)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS covered (
    exchange TEXT NOT NULL, symbol TEXT NOT NULL, timeframe TEXT NOT NULL,
    start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
    PRIMARY KEY (exchange, symbol, timeframe, start_ms)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class MarketKey:
    """One market of one source: the cache's partition."""

    exchange: str
    symbol: str
    timeframe: str


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch (exact: integer arithmetic)."""
    return (moment - EPOCH) // MILLISECOND


def from_ms(value: int) -> datetime:
    return EPOCH + value * MILLISECOND


class CandleCache:
    """Closed candles and the ranges already asked for, per market, in one SQLite file.

    Its methods block (briefly) and are safe to call from any thread: one connection, one lock.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def store(self, key: MarketKey, candles: Iterable[Candle], covered: tuple[datetime, datetime] | None) -> None:
        """Keep ``candles`` (the first version of an open time stays) and mark ``covered`` as asked for."""
        rows = [
            (key.exchange, key.symbol, key.timeframe, to_ms(c.open_time))
            + tuple(str(value) for value in (c.open, c.high, c.low, c.close, c.volume))
            for c in candles
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("INSERT OR IGNORE INTO candles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                if covered is not None:
                    self._cover(key, to_ms(covered[0]), to_ms(covered[1]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _cover(self, key: MarketKey, start: int, end: int) -> None:
        """Merge [start, end) with the covered ranges it overlaps or touches (inside a transaction)."""
        if start >= end:
            return
        market = (key.exchange, key.symbol, key.timeframe)
        where = "exchange = ? AND symbol = ? AND timeframe = ? AND start_ms <= ? AND end_ms >= ?"
        touching = self._db.execute(f"SELECT start_ms, end_ms FROM covered WHERE {where}", (*market, end, start))
        bounds = touching.fetchall()
        merged = (min([start, *(b[0] for b in bounds)]), max([end, *(b[1] for b in bounds)]))
        self._db.execute(f"DELETE FROM covered WHERE {where}", (*market, end, start))
        self._db.execute("INSERT INTO covered VALUES (?, ?, ?, ?, ?)", (*market, *merged))

    def covered(self, key: MarketKey) -> list[tuple[datetime, datetime]]:
        """The ranges of open times already asked for, in order, disjoint."""
        with self._lock:
            rows = self._db.execute(
                "SELECT start_ms, end_ms FROM covered WHERE exchange = ? AND symbol = ? AND timeframe = ?"
                " ORDER BY start_ms",
                (key.exchange, key.symbol, key.timeframe),
            ).fetchall()
        return [(from_ms(start), from_ms(end)) for start, end in rows]

    def candles(self, key: MarketKey, start: datetime, end: datetime, limit: int | None = None) -> list[Candle]:
        """The stored candles opening in [start, end), in order, at most ``limit``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT open_ms, open, high, low, close, volume FROM candles"
                " WHERE exchange = ? AND symbol = ? AND timeframe = ? AND open_ms >= ? AND open_ms < ?"
                " ORDER BY open_ms LIMIT ?",
                (key.exchange, key.symbol, key.timeframe, to_ms(start), to_ms(end), -1 if limit is None else limit),
            ).fetchall()
        return [_candle(key, row) for row in rows]


def _candle(key: MarketKey, row: tuple[int, str, str, str, str, str]) -> Candle:
    open_ms, *values = row
    opening, high, low, close, volume = (Decimal(value) for value in values)
    return Candle(
        exchange=key.exchange,
        symbol=key.symbol,
        timeframe=key.timeframe,
        open_time=from_ms(open_ms),
        open=opening,
        high=high,
        low=low,
        close=close,
        volume=volume,
    )


def first_missing(
    covered: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """The first part of [start, end) outside the (ordered, disjoint) ``covered`` ranges, or None."""
    cursor = start
    for low, high in covered:
        if high <= cursor:
            continue
        if low > cursor:
            return cursor, min(low, end)
        cursor = high
        if cursor >= end:
            return None
    return (cursor, end) if cursor < end else None


def span_end(covered: Sequence[tuple[datetime, datetime]], moment: datetime) -> datetime:
    """The end of the covered range holding ``moment`` (``moment`` itself when none does)."""
    return next((high for low, high in covered if low <= moment < high), moment)


@dataclass(frozen=True)
class History:
    """The closed candles of a range, its gaps, and what the source sent in this call.

    ``downloaded``: the closed rows (candles, and rows that cannot be one) the source sent in this
    call, those past the range that a page brought along included (they are kept); 0 when the
    cache had it all.
    """

    candles: list[Candle]
    gaps: list[tuple[datetime, datetime]]
    downloaded: int


class HistoryReader:
    """Candles of ``source`` through ``cache``: the source is asked only for what was never asked."""

    def __init__(self, cache: CandleCache, source: MarketData, *, page: int = 1000) -> None:
        if page < 1:
            raise ValueError("page must be at least 1")
        self._cache = cache
        self._source = source
        self._page = page

    async def close(self) -> None:
        """Release the source's connections and the cache's file."""
        await self._source.close()
        self._cache.close()

    async def read(self, symbol: str, timeframe: str, start: datetime, end: datetime) -> History:
        """The closed candles opening in [start, end), in order, with the gaps among the closed slots."""
        key = MarketKey(self._source.exchange_id, symbol, timeframe)
        low, high = _grid_range(start, end, timeframe)
        if low >= high:
            return History([], [], 0)
        horizon, downloaded = await self._cover(key, low, high)
        candles = await asyncio.to_thread(self._cache.candles, key, low, high)
        return History(candles, gaps(candles, timeframe, low, min(high, horizon)), downloaded)

    async def page(
        self, symbol: str, timeframe: str, start: datetime, end: datetime, limit: int
    ) -> tuple[list[Candle], datetime | None]:
        """At most ``limit`` closed candles opening in [start, end), and the open time to continue
        from (None: nothing more in the range, or nothing more has closed yet). A page may hold
        fewer than ``limit`` candles and still go on (across a gap)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        key = MarketKey(self._source.exchange_id, symbol, timeframe)
        low, high = _grid_range(start, end, timeframe)
        if low >= high:
            return [], None
        delta = timeframe_delta(timeframe)
        window = min(high, low + max(limit, self._page) * delta)  # a source page at least
        await self._cover(key, low, window)
        reach = min(high, span_end(await asyncio.to_thread(self._cache.covered, key), low))
        candles = await asyncio.to_thread(self._cache.candles, key, low, reach, limit)
        if len(candles) == limit:
            after = candles[-1].open_time + delta
            return candles, after if after < high else None
        return candles, reach if window <= reach < high else None

    async def _cover(self, key: MarketKey, start: datetime, end: datetime) -> tuple[datetime, int]:
        """Ask the source for every part of [start, end) never asked for; the open time of the
        forming candle (``end`` when nothing was asked) and the candles the source sent."""
        covered = await asyncio.to_thread(self._cache.covered, key)
        missing = first_missing(covered, start, end)
        if missing is None:
            return end, 0
        now = await self._source.now()
        downloaded = 0
        while missing is not None:
            reached, count = await self._fill(key, missing, now)
            downloaded += count
            if reached < missing[1]:
                break  # nothing more has closed yet
            covered = await asyncio.to_thread(self._cache.covered, key)
            missing = first_missing(covered, missing[1], end)
        return floor_time(now, key.timeframe), downloaded

    async def _fill(self, key: MarketKey, missing: tuple[datetime, datetime], now: datetime) -> tuple[datetime, int]:
        """Page the source forward through ``missing``; how far it got, and the candles it sent.

        A page's closed rows cover the open times from ``since`` to the last of them. An empty page
        covers one page of open times only (some exchanges answer the window [since, since + limit)
        and nothing after it), and nothing when that window reaches the forming candle: the newest
        candles may not be there yet, a later call asks again.
        """
        since, end = missing
        horizon = floor_time(now, key.timeframe)
        delta = timeframe_delta(key.timeframe)
        downloaded = 0
        while since < min(end, horizon):
            fetched = await self._source.fetch_candles(key.symbol, key.timeframe, since, self._page)
            rows = [row for row in fetched if row.open_time >= since and is_closed(row, now)]
            if rows:
                reached = floor_time(max(row.open_time for row in rows), key.timeframe) + delta
            else:
                reached = min(end, since + self._page * delta)
                if reached > horizon:
                    break
            downloaded += len(rows)
            await asyncio.to_thread(self._cache.store, key, _valid(rows, key), (since, reached))
            since = reached
        return since, downloaded


def _valid(rows: Iterable[Fetched], key: MarketKey) -> list[Candle]:
    """The rows that are candles of ``key`` with possible values (the rest are gaps)."""
    return [
        row
        for row in rows
        if isinstance(row, Candle)
        and (row.exchange, row.symbol, row.timeframe) == (key.exchange, key.symbol, key.timeframe)
        and candle_problem(row) is None
    ]


def _grid_range(start: datetime, end: datetime, timeframe: str) -> tuple[datetime, datetime]:
    """[start, end) as the open times of the grid it holds: [first at or after start, first at or after end)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    return grid_ceiling(start, timeframe), grid_ceiling(end, timeframe)


class Histories:
    """A worker's candle history per exchange, built on first use: a ccxt exchange's through one
    cache file (a second read downloads nothing), a local source's (the replay files) through a
    cache in memory, so a cache never outlives the files it was read from."""

    def __init__(self, sources: Callable[[str], MarketData], cache_file: Path, local: Callable[[str], bool]) -> None:
        self._sources = sources
        self._cache_file = cache_file
        self._local = local
        self._readers: dict[str, HistoryReader] = {}
        self._caches: dict[bool, CandleCache] = {}

    def of(self, exchange_id: str) -> HistoryReader:
        """The history of ``exchange_id`` (UnknownMarket, as the sources say, for an unknown one)."""
        reader = self._readers.get(exchange_id)
        if reader is None:
            source = self._sources(exchange_id)
            local = self._local(exchange_id)
            cache = self._caches.get(local)
            if cache is None:
                cache = self._caches[local] = CandleCache(Path(":memory:") if local else self._cache_file)
            reader = self._readers[exchange_id] = HistoryReader(cache, source)
        return reader

    def close(self) -> None:
        """Close the caches (the sources belong to whoever gave them)."""
        for cache in self._caches.values():
            cache.close()
        self._caches, self._readers = {}, {}
