"""The live venue (``CcxtVenue``, real ``ccxt.async_support.binance``) against the fake Binance over
real HTTP on 127.0.0.1: placement under the client order id, partial fills, refusals with the
exchange's words, answers lost after acceptance, 429s honoured, the account's rate budget.

Judged by the fake's own book (its orders, trades and balances), never by the venue's view.
No Kafka here: none of these tests requests the ``kafka`` fixture.
"""

from __future__ import annotations

import asyncio
import decimal
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from r3edge_streams.accounts import Account, Secret
from r3edge_streams.domain.client_ids import Lookup
from r3edge_streams.domain.money import client_order_id
from r3edge_streams.exchanges.budget import RateBudget
from r3edge_streams.exchanges.ccxt_trading import CcxtVenue
from r3edge_streams.exchanges.errors import OrderRejected, RequestExpired, TransientExchangeError
from r3edge_streams.models import Order, OrderSide, OrderStatus, OrderType, SessionMode
from tests.kit.fake_binance import FakeBinance, load_candles
from tests.kit.patience import patience

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
SYMBOL = "UNITTEST/BTC"
KEY, SECRET = "k" * 64, "s" * 64
ORDER_PATH = "/api/v3/order"
START = 2000  # the fake's clock stands in the middle of this candle


@pytest.fixture(scope="module")
def rows() -> list[list[Any]]:
    return load_candles(DATA)


@pytest.fixture
async def fake(rows: list[list[Any]]) -> AsyncIterator[FakeBinance]:
    async with FakeBinance({SYMBOL: rows}, now_ms=int(rows[START][0]) + 30_000) as server:
        server.open_account(KEY, SECRET, {"BTC": "1", "UNITTEST": "500"})
        yield server


def venue_for(
    fake: FakeBinance,
    per_second: float = 50.0,
    timeout_ms: int = 2000,
    grace: float = 15.0,
    lookup: Lookup | None = None,
) -> CcxtVenue:
    account = Account("main", "binance", Secret(KEY), Secret(SECRET))
    return CcxtVenue("binance", account, RateBudget(per_second), api_url=fake.url, unconfirmed_grace=grace,
                     timeout_ms=int(timeout_ms * patience()), backoff_seconds=0.05, lookup=lookup)  # fmt: skip


@pytest.fixture
async def venue(fake: FakeBinance) -> AsyncIterator[CcxtVenue]:
    client = venue_for(fake)
    try:
        yield client
    finally:
        await client.close()


def order(number: int, side: OrderSide = OrderSide.BUY, quantity: str = "100", limit: str | None = None) -> Order:
    order_id = f"o-{number}"
    return Order(order_id=order_id, session_id="s1", exchange="binance", symbol=SYMBOL, side=side,
                 order_type=OrderType.LIMIT if limit else OrderType.MARKET, mode=SessionMode.LIVE,
                 created_at=datetime(2017, 11, 6, tzinfo=timezone.utc), quantity=Decimal(quantity),
                 client_order_id=client_order_id(order_id), limit_price=Decimal(limit) if limit else None,
                 account="main")  # fmt: skip


def close_of(rows: list[list[Any]], index: int) -> Decimal:
    return Decimal(str(rows[index][4]))


async def test_a_market_buy_is_one_exchange_order_under_its_client_id_with_the_exchanges_fills(
    fake: FakeBinance, venue: CcxtVenue, rows: list[list[Any]]
) -> None:
    fake.book.slices = 3
    placed = await venue.place(order(1, quantity="100"))
    assert decimal.getcontext().rounding == decimal.ROUND_HALF_EVEN, "ccxt's rounding stayed in its own context"
    [booked] = fake.book.orders
    assert booked.client_order_id == client_order_id("o-1") and booked.status == "FILLED"
    assert [t.qty for t in booked.trades] == [Decimal(33), Decimal(33), Decimal(34)]
    price = close_of(rows, START)
    assert {t.price for t in booked.trades} == {price}
    assert placed.status is OrderStatus.FILLED
    assert [(f.trade_id, f.quantity, f.price, f.fee, f.fee_currency) for f in placed.fills] == [
        (str(t.id), t.qty, t.price, t.qty * Decimal("0.001"), "UNITTEST") for t in booked.trades
    ]
    account = fake.book.accounts[KEY]
    assert account.free["BTC"] == Decimal(1) - 100 * price  # the fake's own balances
    assert account.free["UNITTEST"] == Decimal(500) + Decimal(100) * Decimal("0.999")


async def test_a_limit_order_fills_in_slices_as_the_replayed_price_crosses_it(
    fake: FakeBinance, venue: CcxtVenue, rows: list[list[Any]]
) -> None:
    fake.book.slices = 2
    lows = [Decimal(str(row[3])) for row in rows[START + 1 : START + 400]]
    limit = sorted(lows)[len(lows) // 10]  # crossed by some later candles, above none now
    assert limit < close_of(rows, START)
    placed = await venue.place(order(2, quantity="50", limit=str(limit)))
    assert placed.status is OrderStatus.ACCEPTED and not placed.fills
    crossings = [START + 1 + n for n, low in enumerate(lows) if low <= limit]
    fake.now_ms = int(rows[crossings[0]][0]) + 1
    first = await venue.fetch_order(SYMBOL, placed.client_order_id)
    assert first is not None and first.status is OrderStatus.PARTIALLY_FILLED
    assert [f.quantity for f in first.fills] == [Decimal(25)]
    fake.now_ms = int(rows[crossings[1]][0]) + 1
    done = await venue.fetch_order(SYMBOL, placed.client_order_id)
    assert done is not None and done.status is OrderStatus.FILLED
    [booked] = fake.book.orders
    assert [(str(t.id), t.qty, t.price) for t in booked.trades] == [
        (f.trade_id, f.quantity, f.price) for f in done.fills
    ]
    assert all(t.price == limit for t in booked.trades)


async def test_refusals_carry_the_exchanges_reason_and_place_nothing(fake: FakeBinance, venue: CcxtVenue) -> None:
    with pytest.raises(OrderRejected, match="insufficient balance"):
        await venue.place(order(3, quantity="100000"))  # 100,000 units cost more than 1 BTC
    fake.book.accounts[KEY].free["UNITTEST"] = Decimal(0)
    with pytest.raises(OrderRejected, match="insufficient balance"):
        await venue.place(order(4, side=OrderSide.SELL, quantity="10"))
    assert fake.book.orders == []
    posts = [e.params["newClientOrderId"] for e in fake.log if e.path == ORDER_PATH and e.method == "POST"]
    assert posts == [client_order_id("o-3"), client_order_id("o-4")]


async def test_a_quantity_off_the_lot_step_is_refused_by_the_exchange(fake: FakeBinance, venue: CcxtVenue) -> None:
    rules = await venue.market_rules(SYMBOL)
    assert (rules.lot_step, rules.min_quantity, rules.price_tick) == (Decimal(1), Decimal(1), Decimal("0.00000001"))
    fake.book.accounts[KEY].free["BTC"] = Decimal(1000)
    with pytest.raises(OrderRejected, match="NOTIONAL|LOT_SIZE"):
        await venue.place(order(5, quantity="1", limit="0.00000001"))  # 1e-8 BTC: under the minimum notional
    assert fake.book.orders == []


@pytest.mark.parametrize("fault", ["accept_then_timeout", "accept_then_disconnect", "accept_then_server_error"])
async def test_an_answer_lost_after_acceptance_is_found_again_and_the_order_placed_once(
    fake: FakeBinance, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    venue = venue_for(fake, timeout_ms=1000)
    try:
        fake.fail_next(f"POST {ORDER_PATH}", fault, delay=3.0 * patience())  # type: ignore[arg-type]
        found = await venue.place(order(6))
        again = await venue.place(order(6))  # the executor's next round, had it not seen the answer
    finally:
        await venue.close()
    [booked] = fake.book.orders
    assert booked.client_order_id == client_order_id("o-6") and booked.status == "FILLED"
    assert found.venue_order_id == again.venue_order_id == str(booked.order_id)
    assert found.filled_quantity == sum(t.qty for t in booked.trades)
    posts = [e for e in fake.log if e.path == ORDER_PATH and e.method == "POST"]
    assert len(posts) == 1, "the second placement found the order and sent nothing"
    assert "placement" in caplog.text or "unconfirmed" in caplog.text
    assert KEY not in caplog.text and SECRET not in caplog.text and KEY not in repr(venue.__dict__)


async def test_a_rate_limit_stops_every_request_of_the_account_for_its_retry_after(fake: FakeBinance) -> None:
    venue = venue_for(fake)
    try:
        await venue.balances()
        before = len(fake.log)
        fake.fail_next("*", "rate_limit", times=2, retry_after=2)  # the next two requests, whatever they are
        placed = await venue.place(order(7))
    finally:
        await venue.close()
    after = fake.log[before:]
    gaps = [after[n + 1].at - after[n].at for n in (0, 1)]
    assert all(gap >= 2.0 - 0.05 for gap in gaps), f"the account waited {gaps} s after each 429 (Retry-After 2)"
    [booked] = fake.book.orders
    assert placed.venue_order_id == str(booked.order_id)
    assert len([e for e in after if e.method == "POST"]) == 1


async def test_cancel_releases_the_rest_and_open_orders_and_balances_are_the_exchanges(
    fake: FakeBinance, venue: CcxtVenue, rows: list[list[Any]]
) -> None:
    limit = "0.00100000"  # far under every later price: rests
    placed = await venue.place(order(8, quantity="200", limit=limit))
    [listed] = await venue.open_orders(SYMBOL)
    assert listed.client_order_id == placed.client_order_id and listed.status is OrderStatus.ACCEPTED
    assert [o.client_order_id for o in await venue.open_orders()] == [placed.client_order_id]  # every market
    account = fake.book.accounts[KEY]
    assert account.locked["BTC"] == Decimal(200) * Decimal(limit)
    balances = await venue.balances()
    assert balances["BTC"].free == account.free["BTC"] and balances["BTC"].locked == account.locked["BTC"]
    cancelled = await venue.cancel(SYMBOL, placed.client_order_id)
    assert cancelled.status is OrderStatus.CANCELLED and fake.book.orders[0].status == "CANCELED"
    assert account.locked["BTC"] == 0 and account.free["BTC"] == Decimal(1)
    assert await venue.open_orders(SYMBOL) == []
    assert await venue.fetch_order(SYMBOL, client_order_id("never-placed")) is None


async def test_many_callers_on_one_account_keep_to_its_budget(fake: FakeBinance) -> None:
    venue = venue_for(fake, per_second=5.0)
    try:
        await venue.balances()  # markets and the first request out of the way
        fake.clear_requests()
        started = time.monotonic()
        await asyncio.gather(*(venue.fetch_order(SYMBOL, client_order_id(f"x{n}")) for n in range(15)))
        took = time.monotonic() - started
    finally:
        await venue.close()
    arrivals = [e.at for e in fake.log if e.api_key == KEY]
    assert len(arrivals) == 15
    windows = [sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals]
    # two of jitter: the fake logs arrivals on the test's own event loop, which a busy machine can stall
    assert max(windows) <= 5 + 2, f"requests in one second: {max(windows)} (budget 5/s)"
    assert took >= 14 / 5 - 0.1


async def ten_placements(fake: FakeBinance, per_second: float, first: int) -> list[BaseException | object]:
    venue = venue_for(fake, per_second=per_second, timeout_ms=5000)
    try:
        await venue.load_markets()
        return await asyncio.gather(*(venue.place(order(first + n, quantity="10")) for n in range(10)),
                                    return_exceptions=True)  # fmt: skip
    finally:
        await venue.close()


async def test_ten_placements_on_a_slow_strict_exchange_keep_to_the_budget_and_are_each_placed_once(
    fake: FakeBinance,
) -> None:
    fake.latency, fake.account_limit = 0.3, 7  # every answer 0.3 s late; an 8th request in a second is a 429
    placed = await ten_placements(fake, per_second=5.0, first=100)
    assert all(not isinstance(p, BaseException) for p in placed), placed
    assert fake.refused_for_rate == [], "the budget kept the account under the exchange's limit"
    booked = [o.client_order_id for o in fake.book.orders]
    assert sorted(booked) == sorted(client_order_id(f"o-{100 + n}") for n in range(10)), "each placed once"

    await ten_placements(fake, per_second=1000.0, first=200)  # the same burst without a budget
    assert fake.refused_for_rate, "the strict exchange refuses a burst the budget would have spread"
    ids = [o.client_order_id for o in fake.book.orders]
    assert len(ids) == len(set(ids)), "a 429 never makes an order twice"


async def test_a_placement_held_up_past_its_recv_window_is_refused_unexecuted_and_placed_once_later(
    fake: FakeBinance,
) -> None:
    account = Account("main", "binance", Secret(KEY), Secret(SECRET))
    venue = CcxtVenue("binance", account, RateBudget(50), api_url=fake.url, options={"recvWindow": 300},
                      timeout_ms=int(5000 * patience()), backoff_seconds=0.05)  # fmt: skip
    try:
        await venue.load_markets()
        fake.fail_next("POST /api/v3/order", "timeout", delay=0.6)  # taken past its 300 ms window
        with pytest.raises(RequestExpired):
            await venue.place(order(7))
        assert fake.book.orders == [], "the exchange executed nothing it took too late"
        assert len(fake.requests_to(ORDER_PATH)) == 2, "one lookup, one placement"
        placed = await venue.place(order(7))  # no grace to wait: the exchange said it did nothing
    finally:
        await venue.close()
    [booked] = fake.book.orders
    assert booked.client_order_id == client_order_id("o-7") and placed.status is OrderStatus.FILLED


async def test_an_error_that_quotes_a_credential_is_scrubbed(fake: FakeBinance) -> None:
    venue = venue_for(fake)
    try:
        fake.fail_next("*", "server_error", status=503, body=f"upstream saw key={KEY} secret={SECRET}", times=8)
        with pytest.raises(TransientExchangeError) as raised:
            await venue.balances()
    finally:
        await venue.close()
    assert KEY not in str(raised.value) and SECRET not in str(raised.value) and "***" in str(raised.value)


async def test_an_unconfirmed_placement_not_found_is_placed_again_only_after_the_grace(fake: FakeBinance) -> None:
    venue = venue_for(fake, grace=1.0)
    try:
        fake.fail_next(f"POST {ORDER_PATH}", "server_error", status=503)  # refused before the book saw it
        with pytest.raises(TransientExchangeError):
            await venue.place(order(9))
        with pytest.raises(TransientExchangeError, match="still looking"):
            await venue.place(order(9))  # the executor's next round, within the grace: looks only
        assert fake.book.orders == []
        await asyncio.sleep(1.1)
        placed = await venue.place(order(9))
    finally:
        await venue.close()
    [booked] = fake.book.orders
    assert placed.venue_order_id == str(booked.order_id)
    assert len([e for e in fake.log if e.path == ORDER_PATH and e.method == "POST"]) == 2


async def test_a_placement_cancelled_while_out_is_not_sent_again_before_the_exchange_shows_it(
    fake: FakeBinance,
) -> None:
    """The executor's timeout cancels a placement whose request is out; the exchange takes it
    two seconds later. The next rounds find nothing yet and must not send it again."""
    venue = venue_for(fake, timeout_ms=10_000, grace=15.0)
    try:
        fake.fail_next(f"POST {ORDER_PATH}", "timeout", delay=2.0)  # answers (and books) after 2 s
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(venue.place(order(10)), 0.8)
        with pytest.raises(TransientExchangeError, match="still looking"):
            await venue.place(order(10))

        async def shown() -> Any:
            while not fake.book.orders:
                await asyncio.sleep(0.1)

        await asyncio.wait_for(shown(), 10 * patience())
        placed = await venue.place(order(10))
    finally:
        await venue.close()
    [booked] = fake.book.orders
    assert placed.venue_order_id == str(booked.order_id)
    assert len([e for e in fake.log if e.path == ORDER_PATH and e.method == "POST"]) == 1


# -- an exchange that cannot look an order up by its client id: the venue scans the account's orders


def lookups_by_client_id(fake: FakeBinance) -> list[Any]:
    return [e for e in fake.log if e.path == ORDER_PATH and e.method == "GET" and "origClientOrderId" in e.params]


@pytest.mark.parametrize("fault", ["accept_then_timeout", "accept_then_disconnect"])
async def test_without_a_client_id_lookup_a_lost_answer_is_found_in_the_order_lists_and_placed_once(
    fake: FakeBinance, fault: str
) -> None:
    venue = venue_for(fake, timeout_ms=1000, lookup=Lookup.SCAN)
    try:
        fake.fail_next(f"POST {ORDER_PATH}", fault, delay=3.0 * patience())  # type: ignore[arg-type]
        found = await venue.place(order(20))
        again = await venue.place(order(20))
    finally:
        await venue.close()
    [booked] = fake.book.orders
    assert booked.client_order_id == client_order_id("o-20") and booked.status == "FILLED"
    assert found.venue_order_id == again.venue_order_id == str(booked.order_id)
    assert [f.trade_id for f in found.fills] == [str(t.id) for t in booked.trades]
    assert len([e for e in fake.log if e.path == ORDER_PATH and e.method == "POST"]) == 1
    assert {"/api/v3/openOrders", "/api/v3/allOrders"} <= {e.path for e in fake.log}
    assert not lookups_by_client_id(fake), "the client id lookup was not used"


async def test_without_a_client_id_lookup_an_order_is_found_cancelled_and_followed_by_its_exchange_id(
    fake: FakeBinance, rows: list[list[Any]]
) -> None:
    placer = venue_for(fake, lookup=Lookup.SCAN)
    try:
        resting = await placer.place(order(21, quantity="200", limit="0.00100000"))
        filled = await placer.place(order(22))
    finally:
        await placer.close()
    venue = venue_for(fake, lookup=Lookup.SCAN)  # a new worker: knows neither order's exchange id
    try:
        seen = await venue.fetch_order(SYMBOL, filled.client_order_id)  # final: found in the recent orders
        cancelled = await venue.cancel(SYMBOL, resting.client_order_id)  # open: found in the open orders
        by_id = await venue.fetch_order(SYMBOL, "r3" + "0" * 30, venue_order_id=filled.venue_order_id)
        missing = await venue.fetch_order(SYMBOL, client_order_id("never-placed"))
    finally:
        await venue.close()
    booked = {o.client_order_id: o for o in fake.book.orders}
    assert seen is not None and seen.status is OrderStatus.FILLED
    assert [f.trade_id for f in seen.fills] == [str(t.id) for t in booked[filled.client_order_id].trades]
    assert cancelled.status is OrderStatus.CANCELLED and booked[resting.client_order_id].status == "CANCELED"
    assert by_id is not None and by_id.venue_order_id == str(booked[filled.client_order_id].order_id)
    assert missing is None
    assert not lookups_by_client_id(fake)
    cancels = [e for e in fake.log if e.path == ORDER_PATH and e.method == "DELETE"]
    assert [c.params.get("orderId") for c in cancels] == [str(booked[resting.client_order_id].order_id)]


async def test_an_exchange_that_drops_our_client_ids_never_gets_an_unconfirmed_placement_twice(
    fake: FakeBinance, caplog: pytest.LogCaptureFixture
) -> None:
    fake.book.ignores_client_ids = True
    venue = venue_for(fake, timeout_ms=1000, grace=0.0)  # no grace: only the dropped ids hold it back
    try:
        first = await venue.place(order(30))  # answered: under an id of the exchange's own
        fake.fail_next(f"POST {ORDER_PATH}", "accept_then_timeout", delay=3.0 * patience())
        with pytest.raises(TransientExchangeError, match="did not confirm"):  # lost, and not found under our id
            await venue.place(order(31))
        for _ in range(3):  # the executor's next rounds
            with pytest.raises(TransientExchangeError, match="never placed again"):
                await venue.place(order(31))
    finally:
        await venue.close()
    assert first.venue_order_id == str(fake.book.orders[0].order_id)
    assert len(fake.book.orders) == 2, "the unconfirmed placement is on the exchange once"
    assert len([e for e in fake.log if e.path == ORDER_PATH and e.method == "POST"]) == 2
    assert "not ours" in caplog.text
