"""The candle history cache against an in-memory source that counts what it is asked.

The source holds 1-minute candles with a gap, a clock the test moves, and a log of every
``fetch_candles`` call: the tests judge what the cache asked, not only what it answered.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from r3edge_streams.domain.candles import Fetched, InvalidCandle
from r3edge_streams.exchanges.history import CandleCache, HistoryReader
from r3edge_streams.models import Candle

UTC = timezone.utc
T0 = datetime(2024, 3, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
SYMBOL = "BTC/USDT"


def at(minutes: int, seconds: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def make(minute: int) -> Candle:
    base = Decimal("100") + Decimal(minute) / Decimal(1000)
    return Candle(
        exchange="fake",
        symbol=SYMBOL,
        timeframe="1m",
        open_time=at(minute),
        open=base,
        high=base + Decimal("0.5"),
        low=base - Decimal("0.25"),
        close=base + Decimal("0.125"),
        volume=Decimal("1.00000001") * minute,
    )


class FakeSource:
    """A MarketData source: candles of minutes 0..99 but 40..49 (a gap), listed at minute 0."""

    def __init__(self, minutes: Sequence[int], now: datetime) -> None:
        self.rows: list[Fetched] = [make(m) for m in minutes]
        self.clock = now
        self.calls: list[tuple[str, str, datetime, int]] = []

    @property
    def exchange_id(self) -> str:
        return "fake"

    async def now(self) -> datetime:
        return self.clock

    async def observe(self, moment: datetime) -> None:
        return None

    async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
        """Like an exchange: rows opened by now from ``since`` on, the last one possibly forming."""
        self.calls.append((symbol, timeframe, since, limit))
        rows = [row for row in self.rows if (row.symbol, row.timeframe) == (symbol, timeframe)]
        return [row for row in rows if since <= row.open_time <= self.clock][:limit]

    async def close(self) -> None:
        return None

    def asked_from(self) -> list[datetime]:
        return [since for _, _, since, _ in self.calls]


MINUTES = [m for m in range(100) if not 40 <= m < 50]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[CandleCache]:
    store = CandleCache(tmp_path / "history" / "candles.sqlite")
    yield store
    store.close()


@pytest.fixture
def source() -> FakeSource:
    return FakeSource(MINUTES, now=at(200))  # everything has closed


def expected(first: int, last: int) -> list[Candle]:
    return [make(m) for m in MINUTES if first <= m < last]


async def test_a_range_is_read_in_pages_and_a_second_read_asks_nothing(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source, page=20)

    first = await reader.read(SYMBOL, "1m", at(0), at(30))
    assert first.candles == expected(0, 30) and first.gaps == [] and first.downloaded == 40
    assert source.asked_from() == [at(0), at(20)]  # two pages of 20 (the second reaches minute 39)

    source.calls.clear()
    again = await reader.read(SYMBOL, "1m", at(0), at(30))
    assert again.candles == first.candles and again.gaps == [] and again.downloaded == 0
    assert source.calls == []
    inside = await reader.read(SYMBOL, "1m", at(5), at(38))  # the second page brought these along
    assert inside.candles == expected(5, 38) and source.calls == []


async def test_prices_come_back_as_the_exact_decimals_stored(
    cache: CandleCache, source: FakeSource, tmp_path: Path
) -> None:
    odd = make(3).derive(open=Decimal("100.00300000"), high=Decimal("1E+3"), volume=Decimal("0.000000010"))
    source.rows[3] = odd
    reader = HistoryReader(cache, source)

    candles = (await reader.read(SYMBOL, "1m", at(3), at(4))).candles
    assert candles == [odd]
    assert [str(candles[0].open), str(candles[0].high), str(candles[0].volume)] == ["100.00300000", "1E+3", "1.0E-8"]
    db = sqlite3.connect(tmp_path / "history" / "candles.sqlite")
    try:
        stored = db.execute("SELECT open, high, volume FROM candles WHERE open_ms = ?", (ms(at(3)),)).fetchone()
    finally:
        db.close()
    assert stored == ("100.00300000", "1E+3", "1.0E-8")


async def test_a_wider_range_asks_only_for_what_is_new(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source, page=10)
    await reader.read(SYMBOL, "1m", at(20), at(30))
    assert source.asked_from() == [at(20)]

    source.calls.clear()
    wider = await reader.read(SYMBOL, "1m", at(10), at(35))
    assert wider.candles == expected(10, 35)
    assert source.asked_from() == [at(10), at(30)]  # before the cached part, then after it
    assert wider.downloaded == 20  # two pages of 10: minutes 10..19 and 30..39


async def test_a_gap_is_reported_and_not_asked_again(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source, page=1000)

    history = await reader.read(SYMBOL, "1m", at(30), at(60))
    assert history.candles == expected(30, 60)
    assert history.gaps == [(at(40), at(50))]
    assert len(source.calls) == 1

    source.calls.clear()
    for start, end in [(at(30), at(60)), (at(41), at(45)), (at(35), at(55))]:
        again = await reader.read(SYMBOL, "1m", start, end)
        assert again.gaps == [(max(start, at(40)), min(end, at(50)))]
    assert source.calls == []


async def test_the_time_before_listing_is_a_gap_asked_once(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source, page=5)

    history = await reader.read(SYMBOL, "1m", at(-600), at(3))
    assert history.candles == expected(0, 3) and history.gaps == [(at(-600), at(0))]
    assert source.asked_from() == [at(-600)]  # the first page starts at the listing

    source.calls.clear()
    assert (await reader.read(SYMBOL, "1m", at(-300), at(5))).gaps == [(at(-300), at(0))]
    assert source.calls == []


async def test_a_range_past_the_end_of_the_data_is_a_gap_asked_once(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source)
    history = await reader.read(SYMBOL, "1m", at(90), at(150))  # closed (now is minute 200), no data after 99
    assert history.candles == expected(90, 100) and history.gaps == [(at(100), at(150))]

    source.calls.clear()
    assert (await reader.read(SYMBOL, "1m", at(95), at(120))).gaps == [(at(100), at(120))]
    assert source.calls == []


async def test_the_forming_candle_is_not_kept_and_is_fetched_once_closed(cache: CandleCache) -> None:
    source = FakeSource(MINUTES, now=at(20, 30))  # minute 20 is forming
    reader = HistoryReader(cache, source, page=100)

    history = await reader.read(SYMBOL, "1m", at(10), at(60))
    assert history.candles == expected(10, 20)  # not minute 20
    assert history.gaps == []  # nothing is missing among the closed slots
    assert history.downloaded == 10
    assert source.asked_from() == [at(10)]

    source.calls.clear()
    assert (await reader.read(SYMBOL, "1m", at(10), at(20))).candles == expected(10, 20)
    assert source.calls == []  # the closed part is covered

    source.clock = at(25, 1)  # minutes 20..24 have closed, 25 is forming
    later = await reader.read(SYMBOL, "1m", at(10), at(60))
    assert later.candles == expected(10, 25) and later.downloaded == 5
    assert source.asked_from() == [at(20)]


class WindowSource(FakeSource):
    """An exchange that answers only the window [since, since + limit minutes), as some do."""

    async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
        rows = await super().fetch_candles(symbol, timeframe, since, limit)
        return [row for row in rows if row.open_time < since + limit * MINUTE]


async def test_an_empty_answer_proves_only_one_page_empty(cache: CandleCache) -> None:
    source = WindowSource(MINUTES, now=at(200))
    reader = HistoryReader(cache, source, page=100)

    history = await reader.read(SYMBOL, "1m", at(-250), at(60))
    assert history.candles == expected(0, 60) and history.gaps == [(at(-250), at(0)), (at(40), at(50))]
    # window by window: an empty window is not taken for the end, nor is the window ending in the gap
    assert source.asked_from() == [at(-250), at(-150), at(-50), at(40)]
    source.calls.clear()
    assert (await reader.read(SYMBOL, "1m", at(-250), at(60))).candles == expected(0, 60)
    assert source.calls == []


async def test_a_range_ending_at_now_is_asked_again_while_the_newest_candle_is_missing(cache: CandleCache) -> None:
    source = FakeSource(MINUTES, now=at(45, 10))  # in the gap: the last closed candle is minute 39
    reader = HistoryReader(cache, source)

    history = await reader.read(SYMBOL, "1m", at(30), at(60))
    assert history.candles == expected(30, 40) and history.gaps == [(at(40), at(45))]
    source.calls.clear()
    await reader.read(SYMBOL, "1m", at(30), at(60))
    assert source.asked_from() == [at(40)]  # the slots after the last closed candle may still come

    source.clock = at(52)
    source.calls.clear()
    later = await reader.read(SYMBOL, "1m", at(30), at(60))
    assert later.candles == expected(30, 52) and later.gaps == [(at(40), at(50))]
    assert source.asked_from() == [at(40)]


async def test_invalid_rows_are_not_stored_and_count_as_gaps(cache: CandleCache, source: FakeSource) -> None:
    source.rows[5] = InvalidCandle("fake", SYMBOL, "1m", at(5), "[..., nan, ...]", "not a finite number")
    source.rows[6] = make(6).derive(high=Decimal("1"))  # high below low
    reader = HistoryReader(cache, source)

    history = await reader.read(SYMBOL, "1m", at(0), at(10))
    assert history.candles == [make(m) for m in (0, 1, 2, 3, 4, 7, 8, 9)]
    assert history.gaps == [(at(5), at(7))]
    source.calls.clear()
    assert (await reader.read(SYMBOL, "1m", at(0), at(10))).gaps == [(at(5), at(7))]
    assert source.calls == []


async def test_the_cache_survives_a_restart(tmp_path: Path, source: FakeSource) -> None:
    path = tmp_path / "candles.sqlite"
    first = CandleCache(path)
    await HistoryReader(first, source).read(SYMBOL, "1m", at(0), at(60))
    first.close()

    source.calls.clear()
    second = CandleCache(path)
    try:
        history = await HistoryReader(second, source).read(SYMBOL, "1m", at(0), at(60))
    finally:
        second.close()
    assert history.candles == expected(0, 60) and history.gaps == [(at(40), at(50))]
    assert source.calls == []


async def test_markets_are_kept_apart(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source)
    await reader.read(SYMBOL, "1m", at(0), at(10))
    source.calls.clear()

    history = await reader.read("ETH/USDT", "1m", at(0), at(10))  # the source sends nothing of this market
    assert history.candles == [] and history.gaps == [(at(0), at(10))]
    assert source.calls == [("ETH/USDT", "1m", at(0), 1000)]


async def test_range_bounds_off_the_grid_and_empty_ranges(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source)
    history = await reader.read(SYMBOL, "1m", at(2, 30), at(5, 30))
    assert history.candles == expected(3, 6)
    empty = await reader.read(SYMBOL, "1m", at(5, 10), at(5, 50))  # no open time inside
    assert empty.candles == [] and empty.gaps == [] and empty.downloaded == 0
    with pytest.raises(ValueError):
        await reader.read(SYMBOL, "1m", at(0).replace(tzinfo=None), at(5))


# ---------------------------------------------------------------------------------------------- pages


async def test_pages_walk_the_range_across_the_gap(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source, page=1000)
    seen: list[Candle] = []
    cursor: datetime | None = at(30)
    pages = 0
    while cursor is not None:
        candles, cursor = await reader.page(SYMBOL, "1m", cursor, at(70), 7)
        assert len(candles) <= 7
        seen += candles
        pages += 1
    assert seen == expected(30, 70)
    assert pages == 5  # 30-36, 37-53 (across the gap), 54-60, 61-67, 68-69
    assert len(source.calls) == 1  # the first page of the source brought everything along


async def test_a_page_tells_where_to_continue(cache: CandleCache, source: FakeSource) -> None:
    reader = HistoryReader(cache, source, page=10)

    candles, after = await reader.page(SYMBOL, "1m", at(0), at(100), 5)
    assert candles == expected(0, 5) and after == at(5)
    candles, after = await reader.page(SYMBOL, "1m", at(37), at(100), 50)
    assert candles == expected(37, 87) and after == at(87)  # short (the gap), and it goes on
    candles, after = await reader.page(SYMBOL, "1m", at(95), at(100), 5)
    assert candles == expected(95, 100) and after is None
    candles, after = await reader.page(SYMBOL, "1m", at(95), at(300), 5)
    assert candles == expected(95, 100) and after == at(100)
    candles, after = await reader.page(SYMBOL, "1m", at(100), at(300), 5)  # past the last candle
    assert candles == [] and after == at(110)  # empty, a source page further on
    with pytest.raises(ValueError):
        await reader.page(SYMBOL, "1m", at(0), at(10), 0)


async def test_paging_stops_at_the_forming_candle(cache: CandleCache) -> None:
    source = FakeSource(MINUTES, now=at(22, 30))
    reader = HistoryReader(cache, source)

    candles, after = await reader.page(SYMBOL, "1m", at(15), at(90), 5)
    assert candles == expected(15, 20) and after == at(20)
    candles, after = await reader.page(SYMBOL, "1m", at(20), at(90), 5)
    assert candles == expected(20, 22) and after is None  # minute 22 is forming: nothing more yet
    source.clock = at(30)
    candles, after = await reader.page(SYMBOL, "1m", at(20), at(90), 5)
    assert candles == expected(20, 25) and after == at(25)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
