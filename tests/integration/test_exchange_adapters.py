"""The exchange port's contract, passed by every adapter; then the ccxt adapter's fault handling.

The ccxt adapter runs real ccxt code over real HTTP against the local Binance fake
(tests/kit/fake_binance.py) serving the real 1-minute candles. No Kafka here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from r3edge_streams.domain.candles import on_grid, resample
from r3edge_streams.exchanges.ccxt_client import CcxtExchange
from r3edge_streams.exchanges.errors import ExchangeUnavailable, UnknownMarket
from r3edge_streams.exchanges.market_data import MarketData
from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.exchanges.registry import replay_from_directory
from tests.kit.fake_binance import FakeBinance, load_candles

DATA = Path(__file__).resolve().parents[1] / "data"
FILE = DATA / "UNITTEST_BTC-1m.json"
SYMBOL = "UNITTEST/BTC"
FIRST = datetime(2017, 11, 4, 23, 2, tzinfo=timezone.utc)


async def no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance({SYMBOL: load_candles(FILE)}) as server:
        yield server


@pytest.fixture(params=["ccxt-binance", "replay"])
async def adapter(request: pytest.FixtureRequest, fake: FakeBinance) -> AsyncIterator[MarketData]:
    client: MarketData
    if request.param == "replay":
        client = replay_from_directory(DATA, float("inf"))
    else:
        client = CcxtExchange("binance", api_url=fake.url, timeout_ms=3000, sleep=no_sleep)
    yield client
    await client.close()


def expected(exchange: str, timeframe: str) -> list:  # type: ignore[type-arg]
    candles = load_ohlcv(FILE, exchange, SYMBOL, "1m")
    return candles if timeframe == "1m" else resample(candles, timeframe)


async def test_contract_first_page_is_the_real_history(adapter: MarketData) -> None:
    candles = await adapter.fetch_candles(SYMBOL, "1m", FIRST, 1000)
    assert candles == expected(adapter.exchange_id, "1m")[:1000]


@pytest.mark.parametrize("timeframe", ["5m", "1h"])
async def test_contract_coarser_timeframes_are_the_resampled_history(adapter: MarketData, timeframe: str) -> None:
    candles = await adapter.fetch_candles(SYMBOL, timeframe, FIRST - timedelta(hours=1), 200)
    assert candles == expected(adapter.exchange_id, timeframe)[:200]
    assert all(on_grid(c.open_time, timeframe) for c in candles)


async def test_contract_since_and_limit_are_honoured(adapter: MarketData) -> None:
    since = datetime(2017, 11, 10, 12, 0, tzinfo=timezone.utc)
    candles = await adapter.fetch_candles(SYMBOL, "1m", since, 37)
    assert len(candles) == 37 and candles[0].open_time >= since
    assert [c.open_time for c in candles] == sorted({c.open_time for c in candles})


async def test_contract_time_is_utc_and_unknown_markets_are_refused(adapter: MarketData) -> None:
    now = await adapter.now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    with pytest.raises(UnknownMarket):
        await adapter.fetch_candles("NOPE/BTC", "1m", FIRST, 10)


async def test_contract_observing_a_moment_never_moves_the_clock_back(adapter: MarketData) -> None:
    before = await adapter.now()
    await adapter.observe(before - timedelta(days=3))
    assert await adapter.now() >= before
    await adapter.observe(FIRST)  # long past for both: nothing changes
    assert await adapter.now() >= before


async def test_replay_clock_resumes_from_an_observed_moment_at_its_own_speed() -> None:
    replay = replay_from_directory(DATA, 60.0)  # one replay minute per second
    moment = datetime(2017, 11, 10, 12, 0, tzinfo=timezone.utc)
    assert await replay.now() < moment
    await replay.observe(moment)
    now = await replay.now()
    assert moment <= now < moment + timedelta(minutes=5)
    since, minute = moment - timedelta(minutes=30), timedelta(minutes=1)
    candles = await replay.fetch_candles(SYMBOL, "1m", since, 100)
    closed = [c for c in candles if c.open_time + minute <= moment]
    assert closed and closed == [c for c in expected("replay", "1m") if since <= c.open_time <= moment - minute]
    await replay.observe(moment - timedelta(hours=1))
    assert await replay.now() >= now, "never back"


async def test_ccxt_ignores_an_observed_moment_its_clock_is_the_exchanges(fake: FakeBinance) -> None:
    server_now = datetime(2017, 11, 6, 12, 0, 30, tzinfo=timezone.utc)
    fake.set_now(int(server_now.timestamp() * 1000))
    client = CcxtExchange("binance", api_url=fake.url, sleep=no_sleep)
    try:
        await client.observe(server_now + timedelta(days=2))
        assert abs(await client.now() - server_now) < timedelta(seconds=2)
    finally:
        await client.close()


async def test_ccxt_clock_follows_the_exchange_not_the_local_clock(fake: FakeBinance) -> None:
    fake.set_now(int(datetime(2017, 11, 6, 12, 0, 30, tzinfo=timezone.utc).timestamp() * 1000))
    client = CcxtExchange("binance", api_url=fake.url, sleep=no_sleep)
    try:
        now = await client.now()
        assert abs(now - datetime(2017, 11, 6, 12, 0, 30, tzinfo=timezone.utc)) < timedelta(seconds=2)
        candles = await client.fetch_candles(SYMBOL, "1m", datetime(2017, 11, 6, 11, 58, tzinfo=timezone.utc), 10)
        assert candles[-1].open_time == datetime(2017, 11, 6, 12, 0, tzinfo=timezone.utc)  # the forming one
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("fault", "times"), [("rate_limit", 2), ("server_error", 3), ("timeout", 1), ("disconnect", 2)]
)
async def test_ccxt_transient_faults_are_retried(fake: FakeBinance, fault: str, times: int) -> None:
    client = CcxtExchange("binance", api_url=fake.url, timeout_ms=1000, sleep=no_sleep)
    try:
        await client.fetch_candles(SYMBOL, "1m", FIRST, 5)  # markets loaded
        fake.clear_requests()
        fake.fail_next("/api/v3/klines", fault, times=times, delay=2.5)  # type: ignore[arg-type]
        candles = await client.fetch_candles(SYMBOL, "1m", FIRST, 5)
        assert candles == expected("binance", "1m")[:5]
        assert len(fake.requests_to("/api/v3/klines")) >= times + 1 - (1 if fault == "disconnect" else 0)
    finally:
        await client.close()


async def test_ccxt_rate_limit_backs_off_before_retrying(fake: FakeBinance) -> None:
    pauses: list[float] = []

    async def record(seconds: float) -> None:
        pauses.append(seconds)

    client = CcxtExchange("binance", api_url=fake.url, backoff_seconds=0.5, sleep=record)
    try:
        fake.fail_next("/api/v3/klines", "rate_limit", times=3)
        await client.fetch_candles(SYMBOL, "1m", FIRST, 5)
        assert pauses == [0.5, 1.0, 2.0]
    finally:
        await client.close()


async def test_ccxt_persistent_outage_ends_in_the_projects_own_error(fake: FakeBinance) -> None:
    client = CcxtExchange("binance", api_url=fake.url, attempts=3, sleep=no_sleep)
    try:
        await client.fetch_candles(SYMBOL, "1m", FIRST, 5)
        fake.fail_next("/api/v3/klines", "server_error", times=10)
        with pytest.raises(ExchangeUnavailable):
            await client.fetch_candles(SYMBOL, "1m", FIRST, 5)
        assert len(fake.requests_to("/api/v3/klines")) == 1 + 3
    finally:
        await client.close()


async def test_ccxt_unknown_exchange_is_refused() -> None:
    with pytest.raises(UnknownMarket):
        CcxtExchange("no_such_exchange")
