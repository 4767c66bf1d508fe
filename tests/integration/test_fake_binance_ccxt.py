"""Real ccxt (``ccxt.async_support.binance``) against the local fake Binance over real HTTP on 127.0.0.1.

No Kafka here: none of these tests requests the ``kafka`` fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async
import pytest

from tests.kit.fake_binance import FakeBinance, ccxt_config, load_candles
from tests.kit.patience import patience

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
SYMBOL = "UNITTEST/BTC"
KLINES = "/api/v3/klines"
MINUTE = 60_000
FIVE_MINUTES = 5 * MINUTE


@pytest.fixture(scope="module")
def rows() -> list[list[Any]]:
    return load_candles(DATA)


@pytest.fixture
async def fake(rows: list[list[Any]]) -> AsyncIterator[FakeBinance]:
    async with FakeBinance({SYMBOL: rows}) as server:
        yield server


@pytest.fixture
async def exchange(fake: FakeBinance) -> AsyncIterator[Any]:
    # 2 s (scaled): a loopback answer takes milliseconds, but a busy machine can stall the test
    # process for a second; the timeout fault below delays its answer well past this
    client = ccxt_async.binance(ccxt_config(fake.url, timeout_ms=int(2000 * patience())))
    try:
        yield client
    finally:
        await client.close()


def as_floats(row: list[Any]) -> list[Any]:
    return [row[0], *(float(value) for value in row[1:6])]


def resample_by_hand(rows: list[list[Any]], width: int) -> list[list[Any]]:
    """An independent resample: group by floor(open / width); OHLCV rules; gaps leave no bucket."""
    buckets: dict[int, list[list[Any]]] = {}
    for row in rows:
        buckets.setdefault(row[0] // width * width, []).append(row)
    return [
        [
            start,
            group[0][1],
            max(r[2] for r in group),
            min(r[3] for r in group),
            group[-1][4],
            sum((r[5] for r in group), Decimal(0)),
        ]
        for start, group in buckets.items()
    ]


# ---------------------------------------------------------------------------------------------- data


def test_load_candles_keeps_exact_decimals(rows: list[list[Any]]) -> None:
    assert len(rows) == 13_681
    assert rows[0] == [
        1509836520000,
        Decimal("0.00162008"),
        Decimal("0.00162008"),
        Decimal("0.00162008"),
        Decimal("0.00162008"),
        Decimal("108.14853839"),
    ]
    assert all(isinstance(value, Decimal) for row in rows[:100] for value in row[1:])


async def test_load_markets_finds_the_spot_market_with_one_call(fake: FakeBinance, exchange: Any) -> None:
    markets = await exchange.load_markets()

    market = markets[SYMBOL]
    assert (market["id"], market["base"], market["quote"], market["type"]) == ("UNITTESTBTC", "UNITTEST", "BTC", "spot")
    assert market["spot"] is True and market["active"] is True
    assert market["precision"]["price"] == 1e-08 and market["limits"]["cost"]["min"] == 0.0001
    assert fake.requests == [("/api/v3/exchangeInfo", {})]


async def test_fetch_ohlcv_1m_returns_the_first_1000_real_candles(
    fake: FakeBinance, exchange: Any, rows: list[list[Any]]
) -> None:
    candles = await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=1000)

    assert candles == [as_floats(row) for row in rows[:1000]]
    assert fake.requests_to(KLINES) == [
        {"symbol": "UNITTESTBTC", "interval": "1m", "limit": "1000", "startTime": str(rows[0][0])}
    ]
    assert [path for path, _ in fake.requests] == ["/api/v3/exchangeInfo", KLINES]


async def test_klines_serve_binance_strings_and_row_shape(exchange: Any, rows: list[list[Any]]) -> None:
    raw = await exchange.public_get_klines({"symbol": "UNITTESTBTC", "interval": "1m", "startTime": 0, "limit": 2})
    latest = await exchange.public_get_klines({"symbol": "UNITTESTBTC", "interval": "1m", "limit": 2})

    assert raw[0] == [
        1509836520000,
        "0.00162008",
        "0.00162008",
        "0.00162008",
        "0.00162008",
        "108.14853839",
        1509836579999,
        "0.00000000",
        0,
        "0.00000000",
        "0.00000000",
        "0",
    ]
    assert raw[1][1:6] == ["0.00161000", "0.00161000", "0.00161000", "0.00161000", "82.39019900"]
    assert [row[0] for row in latest] == [rows[-2][0], rows[-1][0]]  # no startTime: the most recent klines


async def test_fetch_ohlcv_5m_equals_an_independent_resample(exchange: Any, rows: list[list[Any]]) -> None:
    first_bucket = rows[0][0] // FIVE_MINUTES * FIVE_MINUTES
    candles = await exchange.fetch_ohlcv(SYMBOL, "5m", since=first_bucket, limit=1000)

    assert candles == [as_floats(row) for row in resample_by_hand(rows, FIVE_MINUTES)[:1000]]
    # by hand from the file: 23:05 holds 23:05, 23:06, 23:07, then nothing until 23:14 (a gap)
    assert candles[1] == [1509836700000, 0.00161, 0.00162, 0.00160345, 0.00160345, float(Decimal("97.8769216"))]
    assert [c[0] for c in candles[:3]] == [1509836400000, 1509836700000, 1509837000000]


async def test_5m_since_mid_bucket_skips_that_bucket(exchange: Any, rows: list[list[Any]]) -> None:
    candles = await exchange.fetch_ohlcv(SYMBOL, "5m", since=rows[0][0], limit=2)  # 23:02, inside 23:00

    assert [c[0] for c in candles] == [1509836700000, 1509837000000]


async def test_1h_and_1d_match_the_independent_resample(exchange: Any, rows: list[list[Any]]) -> None:
    for timeframe, width in (("1h", 60 * MINUTE), ("1d", 1440 * MINUTE)):
        expected = resample_by_hand(rows, width)
        candles = await exchange.fetch_ohlcv(SYMBOL, timeframe, since=expected[0][0], limit=1000)
        assert candles == [as_floats(row) for row in expected[:1000]]


async def test_weeks_start_on_monday_and_months_on_the_first(exchange: Any, rows: list[list[Any]]) -> None:
    weeks = await exchange.fetch_ohlcv(SYMBOL, "1w", since=0)
    months = await exchange.fetch_ohlcv(SYMBOL, "1M", since=0)

    assert [w[0] for w in weeks] == [1509321600000, 1509926400000, 1510531200000]  # Mondays 30 Oct .. 13 Nov 2017
    assert [m[0] for m in months] == [1509494400000]  # 1 Nov 2017
    assert months[0][1] == float(rows[0][1]) and months[0][4] == float(rows[-1][4])
    assert months[0][5] == float(sum((row[5] for row in rows), Decimal(0)))


# ------------------------------------------------------------------------------------------------ now


async def test_the_candle_containing_now_is_served_forming(
    fake: FakeBinance, exchange: Any, rows: list[list[Any]]
) -> None:
    opens = {row[0] for row in rows}
    bucket = next(
        row[0]
        for row in rows
        if row[0] % FIVE_MINUTES == 0
        and row[0] + MINUTE in opens
        and row[0] + 2 * MINUTE in opens
        and row[0] > rows[5000][0]
    )
    fake.now_ms = bucket + 2 * MINUTE + 30_000  # 2.5 minutes into the 5m candle
    raw = await exchange.public_get_klines(
        {"symbol": "UNITTESTBTC", "interval": "5m", "startTime": bucket - 10 * MINUTE}
    )

    last = raw[-1]
    assert last[0] == bucket and last[6] == bucket + FIVE_MINUTES - 1 and last[6] > fake.now_ms
    opened = [row for row in rows if bucket <= row[0] <= fake.now_ms]
    assert len(opened) == 3
    assert Decimal(last[1]) == opened[0][1] and Decimal(last[4]) == opened[-1][4]
    assert Decimal(last[5]) == sum((row[5] for row in opened), Decimal(0))
    assert all(row[6] < fake.now_ms for row in raw[:-1])  # every earlier candle is closed


async def test_the_1m_candle_containing_now_is_the_last_one(
    fake: FakeBinance, exchange: Any, rows: list[list[Any]]
) -> None:
    fake.now_ms = rows[100][0] + 30_000
    candles = await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=1000)
    raw = await exchange.public_get_klines({"symbol": "UNITTESTBTC", "interval": "1m", "limit": 1})

    assert candles == [as_floats(row) for row in rows[:101]]
    assert raw[0][0] == rows[100][0] and raw[0][6] == rows[100][0] + MINUTE - 1 > fake.now_ms
    assert await exchange.fetch_time() == fake.now_ms
    assert await exchange.fetch_ohlcv(SYMBOL, "1m", since=fake.now_ms) == []


async def test_end_time_only_returns_the_last_limit_candles_before_it(exchange: Any, rows: list[list[Any]]) -> None:
    candles = await exchange.fetch_ohlcv(SYMBOL, "1m", limit=5, params={"until": rows[50][0]})

    assert candles == [as_floats(row) for row in rows[46:51]]


# --------------------------------------------------------------------------------------------- errors


async def test_unknown_symbol_is_binance_1121_and_ccxt_bad_symbol(fake: FakeBinance, exchange: Any) -> None:
    with pytest.raises(ccxt.BadSymbol, match='"code":-1121'):
        await exchange.public_get_klines({"symbol": "NOPEBTC", "interval": "1m"})
    assert fake.requests_to(KLINES)[-1]["symbol"] == "NOPEBTC"

    fake.clear_requests()
    with pytest.raises(ccxt.BadSymbol):  # a symbol ccxt does not know fails before any request
        await exchange.fetch_ohlcv("NOPE/BTC", "1m")
    assert fake.requests_to(KLINES) == []


@pytest.mark.parametrize(
    "params, code",
    [
        ({"symbol": "UNITTESTBTC"}, -1102),
        ({"symbol": "UNITTESTBTC", "interval": "7m"}, -1120),
        ({"symbol": "UNITTESTBTC", "interval": "1m", "startTime": "yesterday"}, -1100),
        ({"symbol": "unittestbtc", "interval": "1m"}, -1100),
    ],
)
async def test_bad_parameters_are_binance_errors_and_ccxt_bad_request(
    exchange: Any, params: dict[str, str], code: int
) -> None:
    with pytest.raises(ccxt.BadRequest, match=f'"code":{code}'):
        await exchange.public_get_klines(params)


async def test_raw_http_error_bodies(fake: FakeBinance) -> None:
    fake.fail_next(KLINES, "rate_limit")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.url}{KLINES}?symbol=NOPEBTC&interval=1m") as response:
            assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
            assert (await response.json())["code"] == -1003
        async with session.get(f"{fake.url}{KLINES}?symbol=NOPEBTC&interval=1m") as response:
            assert response.status == 400
            assert await response.json() == {"code": -1121, "msg": "Invalid symbol."}
        async with session.get(f"{fake.url}/sapi/v1/capital/config/getall") as response:
            assert response.status == 404


# --------------------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    "kind, options, expected",
    [
        ("rate_limit", {}, ccxt.DDoSProtection),
        ("ip_ban", {}, ccxt.DDoSProtection),
        ("server_error", {}, ccxt.ExchangeNotAvailable),
        ("server_error", {"status": 503, "body": ""}, ccxt.ExchangeNotAvailable),
        ("server_error", {"status": 500}, ccxt.ExchangeNotAvailable),
        ("server_error", {"status": 504}, ccxt.RequestTimeout),
        ("timeout", {"delay": 5.0 * patience()}, ccxt.RequestTimeout),
        ("disconnect", {"times": 2}, ccxt.ExchangeNotAvailable),
    ],
)
async def test_a_fault_raises_its_ccxt_error_once(
    fake: FakeBinance, exchange: Any, rows: list[list[Any]], kind: Any, options: dict[str, Any], expected: type
) -> None:
    await exchange.load_markets()
    fake.fail_next(KLINES, kind, **options)

    with pytest.raises(expected) as caught:
        await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=3)
    assert type(caught.value) is expected
    assert await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=3) == [as_floats(r) for r in rows[:3]]


async def test_rate_limit_is_ddos_protection_not_rate_limit_exceeded(fake: FakeBinance, exchange: Any) -> None:
    await exchange.load_markets()
    fake.fail_next(KLINES, "rate_limit")
    with pytest.raises(ccxt.DDoSProtection) as caught:
        await exchange.fetch_ohlcv(SYMBOL, "1m")
    assert not isinstance(caught.value, ccxt.RateLimitExceeded)  # ccxt's binance raises on the 429 status
    assert isinstance(caught.value, ccxt.NetworkError)


async def test_a_single_disconnect_is_retried_by_aiohttp(
    fake: FakeBinance, exchange: Any, rows: list[list[Any]]
) -> None:
    await exchange.load_markets()  # leaves a kept-alive connection that the fault then drops
    fake.fail_next(KLINES, "disconnect")

    assert await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=3) == [as_floats(r) for r in rows[:3]]
    assert len(fake.requests_to(KLINES)) == 2


async def test_malformed_json_is_not_an_error_for_ccxt(fake: FakeBinance, exchange: Any, rows: list[list[Any]]) -> None:
    """Surprise worth knowing: ccxt swallows an unparseable 200 and returns the text; parsed, that is []."""
    await exchange.load_markets()
    fake.fail_next(KLINES, "malformed")

    assert await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=3) == []
    assert await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=3) == [as_floats(r) for r in rows[:3]]


async def test_malformed_exchange_info_loads_no_markets(fake: FakeBinance, exchange: Any) -> None:
    fake.fail_next("/api/v3/exchangeInfo", "malformed")

    assert await exchange.load_markets() == {}
    assert SYMBOL in await exchange.load_markets(reload=True)


async def test_times_repeats_a_fault_then_it_clears(fake: FakeBinance, exchange: Any, rows: list[list[Any]]) -> None:
    await exchange.load_markets()
    fake.fail_next(KLINES, "server_error", times=2)

    for _ in range(2):
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=3)
    assert len(await exchange.fetch_ohlcv(SYMBOL, "1m", since=rows[0][0], limit=3)) == 3
    assert len(fake.requests_to(KLINES)) == 3


async def test_faults_are_per_path(fake: FakeBinance, exchange: Any) -> None:
    fake.fail_next(KLINES, "server_error")

    assert SYMBOL in await exchange.load_markets()  # exchangeInfo is not affected
    with pytest.raises(ccxt.ExchangeNotAvailable):
        await exchange.fetch_ohlcv(SYMBOL, "1m")
