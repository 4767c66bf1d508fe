"""The candle history cache in front of real ccxt (``CcxtExchange``) talking HTTP to the local Binance fake.

No Kafka here: none of these tests requests the ``kafka`` fixture. The fake serves the real
1-minute candles of tests/data (with their real gaps) and logs every request, so the tests count
the klines pages the cache asked for and judge the candles against the file itself.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from r3edge_streams.domain.candles import resample
from r3edge_streams.domain.series import series_problem
from r3edge_streams.exchanges.ccxt_client import CcxtExchange
from r3edge_streams.exchanges.history import CandleCache, History, HistoryReader
from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.exchanges.registry import replay_from_directory
from r3edge_streams.models import Candle
from tests.kit.fake_binance import FakeBinance, load_candles

DATA = Path(__file__).resolve().parents[1] / "data"
FILE = DATA / "UNITTEST_BTC-1m.json"
ROWS: list[list[Any]] = load_candles(FILE)
SYMBOL = "UNITTEST/BTC"
KLINES = "/api/v3/klines"
MINUTE_MS = 60_000
FIRST = 2000  # the range starts at the open time of this row of the file...
COUNT = 2999  # ...and holds this many of its candles


def moment(open_ms: int) -> datetime:
    return datetime.fromtimestamp(open_ms / 1000, tz=timezone.utc)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def file_rows(start_ms: int, end_ms: int) -> list[tuple[Any, ...]]:
    """The file's rows in [start, end): open ms and the exact Decimals it holds."""
    return [(int(r[0]), *(Decimal(v) for v in r[1:6])) for r in ROWS if start_ms <= int(r[0]) < end_ms]


def as_rows(candles: list[Candle]) -> list[tuple[Any, ...]]:
    return [(ms(c.open_time), c.open, c.high, c.low, c.close, c.volume) for c in candles]


def file_gaps(start_ms: int, end_ms: int) -> list[tuple[datetime, datetime]]:
    """The missing minutes of [start, end), from the file's raw integers (independent of the code under test)."""
    found = []
    previous = start_ms - MINUTE_MS
    for open_ms in [int(r[0]) for r in ROWS if start_ms <= int(r[0]) < end_ms] + [end_ms]:
        if open_ms - previous > MINUTE_MS:
            found.append((moment(previous + MINUTE_MS), moment(open_ms)))
        previous = open_ms
    return found


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance({SYMBOL: ROWS}) as server:  # now: the close of the file's last candle
        yield server


@pytest.fixture
async def exchange(fake: FakeBinance) -> AsyncIterator[CcxtExchange]:
    client = CcxtExchange("binance", api_url=fake.url, timeout_ms=5000, sleep=no_sleep, time_sync=timedelta(0))
    yield client
    await client.close()


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[CandleCache]:
    store = CandleCache(tmp_path / "candles.sqlite")
    yield store
    store.close()


async def test_a_range_is_downloaded_in_pages_once_and_matches_the_file(
    fake: FakeBinance, exchange: CcxtExchange, cache: CandleCache
) -> None:
    start_ms, end_ms = int(ROWS[FIRST][0]), int(ROWS[FIRST + COUNT][0])
    reader = HistoryReader(cache, exchange, page=1000)

    history = await reader.read(SYMBOL, "1m", moment(start_ms), moment(end_ms))

    asked = fake.requests_to(KLINES)
    assert len(asked) == math.ceil(COUNT / 1000) == 3
    assert [int(p["startTime"]) for p in asked] == [int(ROWS[FIRST + n][0]) for n in (0, 1000, 2000)]
    assert as_rows(history.candles) == file_rows(start_ms, end_ms)
    assert len(history.candles) == COUNT and history.downloaded == 3000  # the last page held the next one
    assert all(c.exchange == "binance" and c.symbol == SYMBOL and c.timeframe == "1m" for c in history.candles)
    assert series_problem(history.candles, "1m") is None
    gaps = file_gaps(start_ms, end_ms)
    assert history.gaps == gaps and len(gaps) > 50  # the real data has gaps: reported, not filled

    fake.clear_requests()
    again = await reader.read(SYMBOL, "1m", moment(start_ms), moment(end_ms))
    assert fake.requests_to(KLINES) == []
    assert again == History(history.candles, history.gaps, 0)


async def test_a_second_run_on_the_same_file_downloads_nothing(
    fake: FakeBinance, exchange: CcxtExchange, tmp_path: Path
) -> None:
    start, end = moment(int(ROWS[100][0])), moment(int(ROWS[1600][0]))
    first = CandleCache(tmp_path / "runs.sqlite")
    try:
        one = await HistoryReader(first, exchange).read(SYMBOL, "1m", start, end)
    finally:
        first.close()
    assert len(fake.requests_to(KLINES)) == 2

    fake.clear_requests()
    second = CandleCache(tmp_path / "runs.sqlite")
    try:
        two = await HistoryReader(second, exchange).read(SYMBOL, "1m", start, end)
    finally:
        second.close()
    assert fake.requests_to(KLINES) == []
    assert two.candles == one.candles and two.gaps == one.gaps and two.downloaded == 0


async def test_a_wider_range_asks_only_outside_what_is_cached(
    fake: FakeBinance, exchange: CcxtExchange, cache: CandleCache
) -> None:
    reader = HistoryReader(cache, exchange, page=500)
    inner_start, inner_end = int(ROWS[3000][0]), int(ROWS[3400][0])
    await reader.read(SYMBOL, "1m", moment(inner_start), moment(inner_end))
    cached_to = int(ROWS[3499][0]) + MINUTE_MS  # the one page of 500 reached this far
    fake.clear_requests()

    start_ms, end_ms = int(ROWS[2800][0]) - 7 * MINUTE_MS, int(ROWS[3700][0])
    history = await reader.read(SYMBOL, "1m", moment(start_ms), moment(end_ms))

    asked = [int(p["startTime"]) for p in fake.requests_to(KLINES)]
    assert asked == [start_ms, cached_to]
    assert as_rows(history.candles) == file_rows(start_ms, end_ms)
    assert history.gaps == file_gaps(start_ms, end_ms)


async def test_the_time_before_listing_is_asked_once(
    fake: FakeBinance, exchange: CcxtExchange, cache: CandleCache
) -> None:
    listing = int(ROWS[0][0])
    start_ms, end_ms = listing - 3 * 24 * 60 * MINUTE_MS, int(ROWS[10][0])
    reader = HistoryReader(cache, exchange)

    history = await reader.read(SYMBOL, "1m", moment(start_ms), moment(end_ms))
    assert as_rows(history.candles) == file_rows(start_ms, end_ms)
    assert history.gaps == file_gaps(start_ms, end_ms) and history.gaps[0] == (moment(start_ms), moment(listing))
    assert len(fake.requests_to(KLINES)) == 1

    fake.clear_requests()
    await reader.read(SYMBOL, "1m", moment(start_ms + MINUTE_MS), moment(end_ms))
    assert fake.requests_to(KLINES) == []


async def test_the_forming_candle_is_left_to_a_later_call(
    fake: FakeBinance, exchange: CcxtExchange, cache: CandleCache
) -> None:
    forming = int(ROWS[5000][0])
    assert int(ROWS[5001][0]) == forming + MINUTE_MS
    fake.set_now(forming + 30_000)  # half way through the candle of row 5000
    start_ms = int(ROWS[4900][0])
    far = moment(int(ROWS[6000][0]))
    reader = HistoryReader(cache, exchange)

    history = await reader.read(SYMBOL, "1m", moment(start_ms), far)
    assert as_rows(history.candles) == file_rows(start_ms, forming)
    assert history.gaps == file_gaps(start_ms, forming)

    fake.set_now(int(ROWS[5100][0]) + MINUTE_MS)
    fake.clear_requests()
    later = await reader.read(SYMBOL, "1m", moment(start_ms), far)
    assert [int(p["startTime"]) for p in fake.requests_to(KLINES)] == [forming]
    assert as_rows(later.candles) == file_rows(start_ms, int(ROWS[5100][0]) + MINUTE_MS)


async def test_rate_limits_while_paging_are_the_sources_to_retry(
    fake: FakeBinance, exchange: CcxtExchange, cache: CandleCache
) -> None:
    start_ms, end_ms = int(ROWS[7000][0]), int(ROWS[9500][0])
    fake.fail_next(KLINES, "rate_limit", times=2, retry_after=1)
    reader = HistoryReader(cache, exchange)

    history = await reader.read(SYMBOL, "1m", moment(start_ms), moment(end_ms))
    assert as_rows(history.candles) == file_rows(start_ms, end_ms)
    assert len(fake.requests_to(KLINES)) == 3 + 2  # three pages, two of the tries refused


async def test_pages_of_the_view_walk_the_file(fake: FakeBinance, exchange: CcxtExchange, cache: CandleCache) -> None:
    start_ms, end_ms = int(ROWS[400][0]), int(ROWS[1400][0])
    reader = HistoryReader(cache, exchange)
    seen: list[Candle] = []
    cursor: datetime | None = moment(start_ms)
    while cursor is not None:
        candles, cursor = await reader.page(SYMBOL, "1m", cursor, moment(end_ms), 300)
        assert len(candles) <= 300
        seen += candles
    assert as_rows(seen) == file_rows(start_ms, end_ms)
    assert len(fake.requests_to(KLINES)) == 1


async def test_the_replay_files_are_a_source_too(cache: CandleCache) -> None:
    replay = replay_from_directory(DATA, float("inf"))
    reader = HistoryReader(cache, replay)
    start_ms, end_ms = int(ROWS[0][0]), int(ROWS[-1][0]) + MINUTE_MS

    history = await reader.read(SYMBOL, "1m", moment(start_ms), moment(end_ms))
    assert as_rows(history.candles) == file_rows(start_ms, end_ms)
    assert history.gaps == file_gaps(start_ms, end_ms)
    hourly = await reader.read(SYMBOL, "1h", moment(start_ms), moment(end_ms))
    whole_hours = [c for c in resample(load_ohlcv(FILE, replay.exchange_id, SYMBOL, "1m"), "1h")]
    assert hourly.candles == [c for c in whole_hours if c.open_time >= moment(start_ms)]  # from 00:00, not 23:00
    assert series_problem(hourly.candles, "1h") is None and len(hourly.candles) == 239 and hourly.gaps == []
