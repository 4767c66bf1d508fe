"""Live sessions on the real broker with real workers, trading through real ccxt on the fake
Binance (127.0.0.1), judged by the fake's own book and by the data file, never by the engine's view.

- a worker SIGKILLed between the exchange's acceptance and the report (failpoint
  ``executor.after_place``), while the rest of the order fills with no worker up, leaves one
  exchange order; after the restart every fill is reported once, in order, and the position is
  what the fake's fills make it (fee in base: the net quantity);
- the same ``orders`` record delivered twice is one exchange order;
- an order on the fake that the engine does not know is reported (``order.unknown``, and in the
  account's view), never adopted or cancelled;
- ten live sessions on one account on a slow, strict exchange: the account's budget keeps it
  under the exchange's limit (no 429), every order is placed once, and while the account's
  requests go unanswered a paper session on the same worker keeps getting its signals and fills;
- an account whose exchange cannot be read is halted (its view and a notification say so, its
  orders are refused, nothing is placed) and trades again once read;
- a broker stopped while an order's placement is under way and started again: one exchange order
  per client id, and the position the fake's fills make;
- neither the API key nor the secret appears in the worker's log, any view, or the bytes of any
  topic (changelogs included).

The fake's clock moves a minute per second of the test (``run_clock``); web calls leave the
test's event loop (``call``), which serves the fake.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from r3edge_streams.localkafka import LocalKafka, free_port
from tests.integration.test_datacollect_replay import values
from tests.kit.fake_binance import FakeBinance, load_candles
from tests.kit.fake_binance_book import Order as BookOrder
from tests.kit.http import Pending, Reply, request, start_session, wait_for_async
from tests.kit.kafka import every_byte, produce, read_all
from tests.kit.workers import Worker

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
ROWS = load_candles(DATA_DIR / "UNITTEST_BTC-1m.json")
KEY, SECRET = "LIVEKEY" + "k" * 57, "LIVESECRET" + "s" * 54
START_INDEX = 600  # the fake's clock starts here: enough history to warm the strategy
MINUTE_MS = 60_000
BASE = "UNITTEST"


def spec(mode: str = "live", exchange: str = "binance") -> dict[str, Any]:
    found = {
        "strategy": "sma_cross",
        "parameters": {"fast": 3, "slow": 8},
        "exchange": exchange,
        "symbol": "UNITTEST/BTC",
        "timeframe": "1m",
        "mode": mode,
        "refresh_seconds": 60,
        "risk": {"capital": "0.5", "position_fraction": "0.2"},
    }
    return {**found, "account": "main"} if mode == "live" else found


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance({"UNITTEST/BTC": ROWS}, now_ms=int(ROWS[START_INDEX][0]) + 30_000) as server:
        server.open_account(KEY, SECRET, {"BTC": "5", BASE: "0"})
        yield server


@asynccontextmanager
async def clock_running(fake: FakeBinance, seconds_per_candle: float = 1.0) -> AsyncIterator[None]:
    """The fake exchange's time moves a minute per ``seconds_per_candle`` of wall time meanwhile."""

    async def run() -> None:
        while True:
            await asyncio.sleep(seconds_per_candle)
            fake.advance(MINUTE_MS)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()


async def call(method: str, url: str, body: Any = None) -> Reply:
    """A web call off the event loop (the fake exchange answers the worker on this loop)."""
    return await asyncio.to_thread(request, method, url, body)


def live_worker(
    workers: Callable[..., Worker], fake: FakeBinance, tmp_path: Path, per_second: float = 20, **env: str
) -> Worker:
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"main": {"exchange": "binance", "api_key": KEY, "secret": SECRET,
                                             "requests_per_second": per_second}}))  # fmt: skip
    os.chmod(accounts, 0o600)
    return workers(
        extra_env={
            "R3EDGE_TRADING_MODE": "live",
            "R3EDGE_ACCOUNTS_FILE": str(accounts),
            "R3EDGE_EXCHANGE_URLS": f"binance={fake.url}",
            "R3EDGE_COLLECT_INTERVAL": "0.3",
            "R3EDGE_EXCHANGE_TIME_SYNC": "0.2",
            "R3EDGE_EXCHANGE_TIMEOUT": "2",
            **env,
        }
    )


async def started(worker: Worker) -> Worker:
    return await asyncio.to_thread(lambda: worker.start().wait_ready())


async def open_session(worker: Worker, session_id: str, body: dict[str, Any]) -> None:
    assert (await call("POST", f"{worker.url}/sessions", {"session_id": session_id, **body})).status == 201
    await asyncio.to_thread(start_session, worker.url, session_id)


def held_quantity(orders: list[BookOrder]) -> Decimal:
    """What the fake's fills of ``orders`` leave in the account, in the base asset (net of fees in it)."""
    held = Decimal(0)
    for order in orders:
        for trade in order.trades:
            fee = trade.commission if trade.commission_asset == BASE else Decimal(0)
            held += trade.qty - fee if order.side == "BUY" else -trade.qty
    return held


async def reports_of(kafka: LocalKafka, prefix: str, order_id: str) -> list[dict[str, Any]]:
    """The order's execution reports on ``executions``, each once (by its id), in sequence order."""
    distinct = {r["execution_id"]: r for r in await values(kafka, f"{prefix}.executions") if r["order_id"] == order_id}
    return sorted(distinct.values(), key=lambda r: r["sequence"])


async def test_a_kill_between_acceptance_and_report_leaves_one_order_and_the_fakes_fills_reported_once(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, fake: FakeBinance, tmp_path: Path
) -> None:
    fake.book.slices, fake.book.market_slices_per_candle = 3, True  # a slice now, one on each next candle
    worker = live_worker(workers, fake, tmp_path, R3EDGE_FAILPOINT="executor.after_place:1")
    async with clock_running(fake):
        await started(worker)
        await open_session(worker, "live1", spec())
        assert await asyncio.to_thread(worker.wait_exit, 180) == 137, "the failpoint killed it after a placement"
        [placed] = fake.book.orders
        assert len(placed.trades) < 3, "killed before the order was done"

        async def filled_while_down() -> bool | Pending:
            return placed.status == "FILLED" or Pending(f"{len(placed.trades)} of 3 fills")

        await wait_for_async(filled_while_down, 30, interval=0.5, what="the rest filled with no worker up")
        worker.extra_env.pop("R3EDGE_FAILPOINT")
        await started(worker)

        async def all_reported() -> list[dict[str, Any]] | Pending:
            [order_id] = {o["order_id"] for o in await orders_topic(kafka, topic_prefix)
                          if o["client_order_id"] == placed.client_order_id}  # fmt: skip
            fills = [r for r in await reports_of(kafka, topic_prefix, order_id) if r["last_quantity"] != "0"]
            return fills if len(fills) == 3 else Pending(f"{len(fills)} of 3 fills reported")

        fills = await wait_for_async(all_reported, 90, interval=1, what="the fills made while no worker was up")
        assert [(Decimal(r["last_quantity"]), Decimal(r["last_price"])) for r in fills] == [
            (t.qty, t.price) for t in placed.trades
        ], "each of the exchange's fills reported once, in order"

        async def position_is_the_fakes() -> dict[str, Any] | Pending:
            body = (await call("GET", f"{worker.url}/sessions/live1/position")).body
            held = held_quantity(fake.book.orders)
            return body if Decimal(body.get("quantity", "0")) == held else Pending(f"{body.get('quantity')} != {held}")

        await wait_for_async(position_is_the_fakes, 90, interval=1, what="the position of the fake's fills")
    ids = [o.client_order_id for o in fake.book.orders]
    assert len(ids) == len(set(ids)), "no client order id placed twice"


async def orders_topic(kafka: LocalKafka, prefix: str) -> list[dict[str, Any]]:
    return await values(kafka, f"{prefix}.orders")


async def test_the_same_order_delivered_twice_is_one_exchange_order(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, fake: FakeBinance, tmp_path: Path
) -> None:
    worker = live_worker(workers, fake, tmp_path)
    async with clock_running(fake):
        await started(worker)
        await open_session(worker, "live2", spec())

        async def an_order() -> list[Any] | Pending:
            records = await read_all(kafka.bootstrap, f"{topic_prefix}.orders")
            return records or Pending("no order yet")

        records = await wait_for_async(an_order, 120, interval=1, what="an order on the orders topic")
        first = records[0]
        await produce(kafka.bootstrap, f"{topic_prefix}.orders", [(first.key, first.value)], [list(first.headers)])
        order_id = json.loads(first.value or b"{}")["order_id"]

        async def filled() -> bool | Pending:
            states = await reports_of(kafka, topic_prefix, order_id)
            return any(s["status"] == "filled" for s in states) or Pending("no fill reported")

        await wait_for_async(filled, 60, interval=1, what="the order's fill")
        await asyncio.sleep(3)  # rounds of the executor after the repeat: room for a second placement
    client_id = json.loads(first.value or b"{}")["client_order_id"]
    booked = [o for o in fake.book.orders if o.client_order_id == client_id]
    assert len(booked) == 1, f"order {order_id} is {len(booked)} exchange orders"
    assert len([r for r in fake.log if r.method == "POST" and r.params.get("newClientOrderId") == client_id]) == 1
    await assert_no_credentials(worker, kafka, topic_prefix, ["/sessions/live2", "/sessions/live2/orders",
                                                              f"/orders/{order_id}"])  # fmt: skip


async def test_an_order_the_engine_does_not_know_is_reported_and_left_alone(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, fake: FakeBinance, tmp_path: Path
) -> None:
    stranger = "r3" + "ab" * 15  # our prefix and form, but no order of the engine's
    market = fake.state.markets["UNITTESTBTC"]
    fake.book.place(KEY, {"symbol": "UNITTESTBTC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                          "quantity": "10", "price": "0.00010000", "newClientOrderId": stranger},
                    fake.state.view(market), fake.now_ms)  # fmt: skip
    worker = live_worker(workers, fake, tmp_path)
    await started(worker)

    async def reported() -> list[dict[str, Any]] | Pending:
        found = [n for n in await values(kafka, f"{topic_prefix}.notifications") if n["category"] == "order.unknown"]
        return found or Pending("no order.unknown notification")

    [notice] = await wait_for_async(reported, 60, interval=1, what="the unknown order reported")
    assert stranger in notice["title"]
    view = (await call("GET", f"{worker.url}/accounts/main/exposure")).body
    assert view["reconciliation"]["unknown_orders"] == [stranger] and view["venue_orders"] == []
    await asyncio.sleep(3)  # more reconciliation rounds: still not adopted, not cancelled
    assert fake.book.orders[0].status == "NEW", "left as it was"
    assert not [e for e in fake.log if e.method == "DELETE"], "nothing cancelled"
    assert not [e for e in fake.log if e.method == "POST"], "nothing placed in its stead"
    assert (await call("GET", f"{worker.url}/accounts/main/exposure")).body["venue_orders"] == [], "not adopted"


async def test_ten_live_sessions_on_one_account_keep_its_budget_while_other_sessions_flow(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, fake: FakeBinance, tmp_path: Path
) -> None:
    # The fake counts a request when its handler runs, in this test's event loop: a stall of that
    # loop (the silence's held handlers all resuming at the release, on a loaded machine) logs the
    # requests that came during it at once, as if sent together. With the budget at half the
    # exchange's limit, the log shows a 429 only if that stall lasts more than a second (at 5 of
    # 7 it took 0.4 s); ten sessions firing without a budget still pass the limit at once.
    budget, exchange_limit = 4, 8
    fake.latency, fake.account_limit = 0.3, exchange_limit  # slow; one request past 8 in a second is a 429
    worker = live_worker(workers, fake, tmp_path, per_second=budget, R3EDGE_REPLAY_DIR=str(DATA_DIR),
                         R3EDGE_REPLAY_SPEED="x60")  # fmt: skip
    live = [f"live{n}" for n in range(10)]
    async with clock_running(fake):
        await started(worker)
        for session_id in live:
            await open_session(worker, session_id, spec())
        await open_session(worker, "paper1", spec(mode="paper", exchange="replay"))
        await wait_for_async(lambda: orders_at_least(fake, 10), 180, interval=1, what="ten live orders placed")

        fake.hold(accounts_only=True)  # the account's requests go unanswered; market data still flows
        before = await paper_progress(worker)
        what = "the paper session's signals and fills while the account is silent"
        during = await wait_for_async(lambda: flowed(worker, fake, before), 120, interval=1, what=what)
        fake.release()
        assert during["filled"], during

        placed_before = len(fake.book.orders)
        await wait_for_async(lambda: orders_at_least(fake, placed_before + 10), 180, interval=1,
                             what="ten more live orders after the silence")  # fmt: skip
    assert fake.refused_for_rate == [], "the account's budget kept it under the exchange's limit"
    arrivals = sorted(e.at for e in fake.log if e.api_key == KEY)
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1.0) for start in arrivals)
    assert busiest <= exchange_limit, f"{busiest} requests in one second (budget {budget}/s)"
    ids = [o.client_order_id for o in fake.book.orders]
    assert len(ids) == len(set(ids)), "every order placed once"
    await assert_no_credentials(worker, kafka, topic_prefix, ["/sessions/live0", "/sessions/live0/position",
                                                              "/accounts/main/exposure", "/workloads"])  # fmt: skip


async def orders_at_least(fake: FakeBinance, count: int) -> bool | Pending:
    return len(fake.book.orders) >= count or Pending(f"{len(fake.book.orders)} of {count} exchange orders")


async def paper_progress(worker: Worker) -> tuple[int, list[dict[str, Any]]]:
    """The paper session's signal count and its orders."""
    feed = (await call("GET", f"{worker.url}/sessions/paper1")).body.get("feed") or {}
    orders = (await call("GET", f"{worker.url}/sessions/paper1/orders")).body.get("items", [])
    return int(feed.get("signals", 0)), orders


async def flowed(
    worker: Worker, fake: FakeBinance, before: tuple[int, list[dict[str, Any]]]
) -> dict[str, Any] | Pending:
    """While the account's requests are held: three more paper signals, and a paper order decided
    during the hold filled, with live requests waiting at the exchange."""
    signals, orders = await paper_progress(worker)
    new = [o for o in orders if o["order_id"] not in {b["order_id"] for b in before[1]}]
    filled = [o for o in new if o["status"] == "filled"]
    seen = f"{signals - before[0]} new signals, {len(filled)} of {len(new)} new orders filled, {fake.holding} held"
    if signals - before[0] >= 3 and filled and fake.holding > 0:
        return {"signals": signals, "filled": filled}
    return Pending(seen)


async def assert_no_credentials(worker: Worker, kafka: LocalKafka, prefix: str, paths: list[str]) -> None:
    """Neither the key nor the secret in the worker's log, the views, or any topic of the test."""
    texts = {"log": worker.log_text()}
    for path in paths:
        texts[path] = json.dumps((await call("GET", f"{worker.url}{path}")).body)
    for where, text in texts.items():
        assert KEY not in text and SECRET not in text, f"a credential in {where}"
    stored = await every_byte(kafka.bootstrap, prefix)
    assert stored, "the topics were read"
    assert KEY.encode() not in stored and SECRET.encode() not in stored, "a credential in a topic"


async def test_an_account_its_exchange_cannot_be_read_for_is_halted_says_so_and_trades_again_once_read(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, fake: FakeBinance, tmp_path: Path
) -> None:
    fake.fail_next("GET /api/v3/openOrders", "server_error", times=100_000)  # the account's order list: 502s
    worker = live_worker(workers, fake, tmp_path)
    async with clock_running(fake):
        await started(worker)

        async def halted() -> dict[str, Any] | Pending:
            view = (await call("GET", f"{worker.url}/accounts/main/exposure")).body
            return view if view.get("halted") else Pending(f"{view}")

        view = await wait_for_async(halted, 90, interval=1, what="the account halted")
        assert "cannot be reconciled" in view["halted"] and view["reconciliation"]["error"], view
        notices = [n for n in await values(kafka, f"{topic_prefix}.notifications") if n["category"] == "account.halted"]
        assert notices and notices[0]["severity"] == "critical"
        await open_session(worker, "live3", spec())

        async def refused() -> list[dict[str, Any]] | Pending:
            reports = [r for r in await values(kafka, f"{topic_prefix}.executions") if r["session_id"] == "live3"]
            return reports if any("halted" in (r.get("reason") or "") for r in reports) else Pending(f"{reports}")

        await wait_for_async(refused, 120, interval=1, what="an order of the halted account refused")
        assert not [e for e in fake.log if e.method == "POST"], "nothing placed while halted"

        fake.clear_faults()

        async def resumed() -> dict[str, Any] | Pending:
            view = (await call("GET", f"{worker.url}/accounts/main/exposure")).body
            return view if view.get("halted") is None and len(fake.book.orders) >= 1 else Pending(f"{view}")

        await wait_for_async(resumed, 150, interval=1, what="the account read again and trading")


async def test_a_broker_restarted_while_an_order_is_placed_leaves_one_order_and_the_fakes_position(
    fake: FakeBinance, tmp_path: Path
) -> None:
    """Its own broker, stopped while the order's placement is under way and started again."""
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port(), heap="384m")
    await asyncio.to_thread(broker.start)
    prefix = "restart"
    made: list[Worker] = []

    def make(**kwargs: object) -> Worker:
        worker = Worker(broker.broker_url, tmp_path / "w1", prefix, **kwargs)  # type: ignore[arg-type]
        made.append(worker)
        return worker

    fake.book.slices, fake.book.market_slices_per_candle = 2, True
    fake.hold(accounts_only=True)  # the order's placement waits at the exchange
    try:
        worker = live_worker(make, fake, tmp_path)
        async with clock_running(fake):
            await started(worker)
            await open_session(worker, "live4", spec())

            async def in_flight() -> bool | Pending:
                orders = await read_all(broker.bootstrap, f"{prefix}.orders")
                return bool(orders) and fake.holding > 0 or Pending(f"{len(orders)} orders, {fake.holding} held")

            await wait_for_async(in_flight, 120, interval=0.5, what="an order held at the exchange")
            await asyncio.to_thread(broker.stop)
            fake.release()  # the placement goes on with the broker down
            await asyncio.sleep(5)  # candles pass (the order's second slice fills) while Kafka is down
            await asyncio.to_thread(broker.start)

            async def position_is_the_fakes() -> dict[str, Any] | Pending:
                if worker.process is not None and worker.process.poll() is not None:
                    await started(worker)  # a worker that gave up on the broker is started again
                body = (await call("GET", f"{worker.url}/sessions/live4/position")).body
                held = held_quantity(fake.book.orders)
                done = held > 0 and Decimal(body.get("quantity", "0")) == held
                return body if done else Pending(f"{body.get('quantity')} != {held}")

            await wait_for_async(position_is_the_fakes, 180, interval=1, what="the position after the restart")
    finally:
        for worker in made:
            worker.stop()
        await asyncio.to_thread(broker.stop)
    ids = [o.client_order_id for o in fake.book.orders]
    assert len(ids) == len(set(ids)), "no client order id placed twice"
