"""One slow, broken or hostile market never delays or stops another (collector, read-backs, replay clock).

Fake exchanges serve one candle a minute and can hang forever or raise for chosen symbols; no Kafka.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from r3edge_streams.collector import Collector, CursorScan
from r3edge_streams.domain.candles import Fetched
from r3edge_streams.exchanges.errors import UnknownMarket
from r3edge_streams.exchanges.market_data import MarketData
from r3edge_streams.exchanges.registry import replay_from_directory
from r3edge_streams.exchanges.replay import ReplayClock
from r3edge_streams.logscan import Skipped, open_time_visit, signal_visit
from r3edge_streams.models import Candle, Workload, encode_key

MINUTE = timedelta(minutes=1)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
DATA = Path(__file__).resolve().parents[1] / "data"
FOREVER = asyncio.Event  # an event nobody sets: awaiting it hangs


class FakeExchange:
    """Candles of every symbol each minute from T0; ``now_at`` is its clock (move it by hand).

    Symbols in ``hang`` never answer, those in ``explode`` raise the given exception.
    """

    def __init__(
        self,
        exchange_id: str,
        hang: Sequence[str] = (),
        delay: float = 0.0,
        explode: dict[str, BaseException] | None = None,
    ) -> None:
        self._id = exchange_id
        self.now_at = T0 + 10 * MINUTE
        self.hang = set(hang)
        self.explode = explode or {}
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self.observed: list[datetime] = []

    @property
    def exchange_id(self) -> str:
        return self._id

    async def now(self) -> datetime:
        return self.now_at

    async def observe(self, moment: datetime) -> None:
        self.observed.append(moment)

    async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if symbol in self.hang:
                await FOREVER().wait()
            if symbol in self.explode:
                raise self.explode[symbol]
            await asyncio.sleep(self.delay)
            opens = [T0 + n * MINUTE for n in range(int((self.now_at - T0) / MINUTE) + 1)]
            return [candle(self._id, symbol, moment) for moment in opens if moment >= since][:limit]
        finally:
            self.in_flight -= 1

    async def close(self) -> None:
        return None


def candle(exchange: str, symbol: str, open_time: datetime) -> Candle:
    one = Decimal("1")
    return Candle(
        exchange=exchange,
        symbol=symbol,
        timeframe="1m",
        open_time=open_time,
        open=one,
        high=one,
        low=one,
        close=one,
        volume=one,
    )


def workload(exchange: str, symbol: str, timeframe: str = "1m") -> Workload:
    return Workload(
        exchange=exchange, symbol=symbol, timeframe=timeframe, holders={"st": ["s"]}, version=1, updated_at=T0
    )


class MemorySink:
    """Candles as Kafka would have them: sent at once; ``ack_delay`` is the wait for the acks."""

    def __init__(self, ack_delay: float = 0.0) -> None:
        self.candles: list[Candle] = []
        self.ack_delay = ack_delay

    async def publish(self, candles: list[Candle]) -> None:
        self.candles += candles
        await asyncio.sleep(self.ack_delay)

    async def reject(self, rejected: list[tuple[Fetched, str]]) -> None:
        raise AssertionError(f"no invalid candle expected: {rejected}")

    def of(self, market: str) -> list[datetime]:
        return [c.open_time for c in self.candles if c.market == market]

    def scan(self) -> CursorScan:
        """A read-back of what this sink holds (as the collector's scan of marketdata)."""

        async def scan(markets: list[str], since: datetime) -> dict[str, datetime]:
            return {m: max(self.of(m)) for m in markets if self.of(m)}

        return scan


def collector_of(exchanges: dict[str, MarketData], sink: MemorySink, **options: Any) -> Collector:
    return Collector(exchanges=exchanges.__getitem__, sink=sink, lookback=5, **options)


async def timed(work: Awaitable[None]) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await work
    return loop.time() - started


def tick(*exchanges: FakeExchange) -> None:
    for exchange in exchanges:
        exchange.now_at += MINUTE


SLACK = 0.25  # seconds a loaded machine may add to a round


async def test_a_market_that_hangs_holds_up_no_market_of_another_exchange() -> None:
    x, y = FakeExchange("x", hang=["A/BTC"]), FakeExchange("y")
    sink = MemorySink()
    collector = collector_of({"x": x, "y": y}, sink, round_timeout=0.3)
    a, b = workload("x", "A/BTC"), workload("y", "B/BTC")
    for round_number in range(1, 4):
        elapsed = await timed(collector.collect([a, b], sink.scan()))
        assert elapsed <= 0.3 + SLACK, f"round {round_number} took {elapsed:.2f} s"
        assert len(sink.of(b.market)) == 4 + round_number, "B is collected every round"
        tick(x, y)
    assert sink.of(a.market) == []
    status = collector.status[a.market]
    assert status.error == "timed out after 0.3 s" and status.error_at is not None
    assert collector.status[b.market].error is None


async def test_a_market_that_hangs_keeps_only_its_own_slot_of_its_exchange() -> None:
    x = FakeExchange("x", hang=["A/BTC"])
    sink = MemorySink()
    collector = collector_of({"x": x}, sink, round_timeout=0.3, concurrency=2)
    a, b = workload("x", "A/BTC"), workload("x", "B/BTC")
    for round_number in range(1, 4):
        assert await timed(collector.collect([a, b], sink.scan())) <= 0.3 + SLACK
        assert len(sink.of(b.market)) == 4 + round_number
        tick(x)
    assert collector.status[a.market].error == "timed out after 0.3 s"


async def test_requests_to_one_exchange_stay_within_the_bound_and_markets_run_concurrently() -> None:
    x = FakeExchange("x", delay=0.1)
    sink = MemorySink()
    collector = collector_of({"x": x}, sink, concurrency=2)
    markets = [workload("x", f"S{n}/BTC") for n in range(6)]
    await collector.collect(markets, sink.scan())
    assert x.most_in_flight == 2
    assert all(len(sink.of(m.market)) == 5 for m in markets)
    fresh = MemorySink()
    wide = collector_of({"x": FakeExchange("x", delay=0.2)}, fresh, concurrency=6)
    assert await timed(wide.collect(markets, fresh.scan())) < 3 * 0.2, "markets are collected concurrently"
    assert all(len(fresh.of(m.market)) == 5 for m in markets)


async def test_a_market_abandoned_while_it_hangs_is_retried_next_round() -> None:
    x = FakeExchange("x", hang=["A/BTC"])
    sink = MemorySink()
    collector = collector_of({"x": x}, sink, round_timeout=0.2)
    a = workload("x", "A/BTC")
    await collector.collect([a], sink.scan())
    assert collector.status[a.market].error == "timed out after 0.2 s"
    x.hang.clear()
    await collector.collect([a], sink.scan())
    assert len(sink.of(a.market)) == 5 and collector.status[a.market].error is None


async def test_a_slow_round_leaves_the_timer_free_and_times_out_in_the_background() -> None:
    x, y = FakeExchange("x", hang=["A/BTC"]), FakeExchange("y")
    sink = MemorySink()
    collector = collector_of({"x": x, "y": y}, sink, round_timeout=0.6, patience=0.1)
    a, b = workload("x", "A/BTC"), workload("y", "B/BTC")
    for round_number in range(1, 4):
        assert await timed(collector.collect([a, b], sink.scan())) <= 0.1 + SLACK
        assert len(sink.of(b.market)) == 4 + round_number
        tick(y)
    await asyncio.sleep(0.6)
    assert collector.status[a.market].error == "timed out after 0.6 s"


async def test_an_exception_of_any_type_is_the_error_of_its_market_only() -> None:
    x = FakeExchange("x", explode={"A/BTC": ZeroDivisionError("division by zero"), "R/BTC": RecursionError("deep")})
    sink = MemorySink()

    def exchanges(exchange_id: str) -> MarketData:
        if exchange_id == "nowhere":
            raise UnknownMarket("ccxt has no exchange 'nowhere'")
        return x

    collector = Collector(exchanges=exchanges, sink=sink, lookback=5)
    broken = [
        workload("x", "A/BTC"),
        workload("x", "R/BTC"),
        workload("x", "C/BTC", "7m"),
        workload("nowhere", "C/BTC"),
    ]
    good = workload("x", "B/BTC")
    await collector.collect([*broken, good], sink.scan())
    assert len(sink.of(good.market)) == 5 and collector.status[good.market].error is None
    assert [collector.status[w.market].error for w in broken] == [
        "ZeroDivisionError: division by zero",
        "RecursionError: deep",
        "unknown timeframe '7m'",
        "ccxt has no exchange 'nowhere'",
    ]
    assert collector.status[broken[2].market].lag("7m") is None


async def test_a_read_back_that_fails_for_one_partition_leaves_the_others_recovered() -> None:
    x = FakeExchange("x")
    sink = MemorySink()
    a, b = workload("x", "A/BTC"), workload("x", "B/BTC")
    partitions = {a.market: 0, b.market: 1}
    broken = {0}

    async def scan(markets: list[str], since: datetime) -> dict[str, datetime]:
        if any(partitions[m] in broken for m in markets):
            raise RecursionError("maximum recursion depth exceeded")
        return await sink.scan()(markets, since)

    collector = collector_of({"x": x}, sink, partition_of=partitions.__getitem__)
    await collector.collect([a, b], scan)
    assert len(sink.of(b.market)) == 5 and sink.of(a.market) == []
    error = collector.status[a.market].error
    assert error is not None and "partition 0" in error and "RecursionError" in error
    broken.clear()
    await collector.collect([a, b], scan)
    assert len(sink.of(a.market)) == 5 and collector.status[a.market].error is None


async def test_a_read_back_that_hangs_times_out_for_its_partition_only() -> None:
    x = FakeExchange("x")
    sink = MemorySink()
    a, b = workload("x", "A/BTC"), workload("x", "B/BTC")

    async def scan(markets: list[str], since: datetime) -> dict[str, datetime]:
        if a.market in markets:
            await FOREVER().wait()
        return {}

    collector = collector_of({"x": x}, sink, round_timeout=0.3, partition_of=lambda m: 0 if m == a.market else 1)
    assert await timed(collector.collect([a, b], scan)) <= 0.3 + SLACK
    assert len(sink.of(b.market)) == 5 and sink.of(a.market) == []
    assert "timed out" in (collector.status[a.market].error or "")


async def test_an_abandoned_market_finishes_its_publish_and_its_cursor_is_what_was_published() -> None:
    x = FakeExchange("x")
    sink = MemorySink(ack_delay=0.5)  # Kafka is slow to acknowledge
    collector = collector_of({"x": x}, sink, round_timeout=0.2)
    a = workload("x", "A/BTC")
    assert await timed(collector.collect([a], sink.scan())) <= 0.2 + SLACK
    assert collector.status[a.market].error == "timed out after 0.2 s"
    await asyncio.sleep(0.6)  # the publish begun goes on to its end...
    assert collector.cursors[a.market] == sink.of(a.market)[-1], "...and the cursor follows what was published"
    sink.ack_delay = 0
    tick(x)
    await collector.collect([a], sink.scan())
    opens = sink.of(a.market)
    assert opens == sorted(set(opens)) and len(opens) == 6, "nothing twice"


async def test_a_fetch_begun_before_a_rebalance_never_publishes_after_it() -> None:
    release = asyncio.Event()

    class Slow(FakeExchange):
        async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
            rows = await super().fetch_candles(symbol, timeframe, since, limit)
            await asyncio.shield(release.wait())  # the answer arrives after the rebalance, whatever happens
            return rows

    sink = MemorySink()
    collector = collector_of({"x": Slow("x")}, sink, round_timeout=2)
    a = workload("x", "A/BTC")
    await collector.recover([a], sink.scan())
    round_ = asyncio.create_task(collector.collect([a]))
    await asyncio.sleep(0.05)
    await collector.on_rebalance()
    release.set()
    await round_
    await asyncio.sleep(0.05)
    assert sink.candles == [] and collector.cursors == {}


async def test_recover_tells_the_exchange_the_close_of_each_cursor_read_back() -> None:
    x = FakeExchange("x")
    sink = MemorySink()
    a, b = workload("x", "A/BTC"), workload("x", "B/BTC", "5m")
    cursor = T0 + 3 * MINUTE

    async def scan(markets: list[str], since: datetime) -> dict[str, datetime]:
        return {a.market: cursor} if a.market in markets else {}

    collector = collector_of({"x": x}, sink)
    await collector.recover([a, b], scan)
    assert x.observed == [cursor + MINUTE], "only a market with a cursor is observed"
    assert collector.cursors == {a.market: cursor}


# --------------------------------------------------------------------------------------------- replay clock


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_the_replay_clock_jumps_forward_to_what_it_observes_and_keeps_its_speed() -> None:
    start, end = datetime(2017, 11, 4, tzinfo=timezone.utc), datetime(2017, 11, 14, tzinfo=timezone.utc)
    monotonic = FakeMonotonic()
    clock = ReplayClock(start, end, speed=60, monotonic=monotonic)
    assert clock.now() == start
    clock.observe(start + timedelta(hours=5))
    assert clock.now() == start + timedelta(hours=5)
    monotonic.value += 2
    assert clock.now() == start + timedelta(hours=5, minutes=2), "the speed stays"
    clock.observe(start + timedelta(hours=1))
    assert clock.now() == start + timedelta(hours=5, minutes=2), "never back"
    clock.observe(end + timedelta(days=30))
    assert clock.now() == end, "never past the end of history"
    fastest = ReplayClock(start, end, monotonic=monotonic)
    fastest.observe(start + timedelta(hours=1))
    assert fastest.now() == end


async def test_a_replay_that_observed_a_moment_serves_the_candles_closed_by_then() -> None:
    replay = replay_from_directory(DATA, 1.0)
    first = replay.clock.start
    assert len(await replay.fetch_candles("UNITTEST/BTC", "1m", first, 10)) <= 1, "at most the forming first one"
    moment = first + timedelta(hours=2)
    await replay.observe(moment)
    assert await replay.now() >= moment
    candles = await replay.fetch_candles("UNITTEST/BTC", "1m", moment - 5 * MINUTE, 10)
    assert candles and moment - 5 * MINUTE <= candles[-1].open_time <= moment  # opened by the observed moment


# --------------------------------------------------------------------------------------------- read-backs


def test_a_read_back_skips_and_counts_a_record_that_fails_to_decode_for_any_reason() -> None:
    market = "xchg:A/BTC:1m"
    key = encode_key(market)
    deep = b"[" * 100_000 + b"]" * 100_000

    def record(minutes: int) -> bytes:
        return bytes(candle("xchg", "A/BTC", T0 + minutes * MINUTE).dumps())

    def overflowing(key: bytes | None, value: bytes | None) -> None:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")

    last: dict[str, datetime] = {}
    visit = open_time_visit({market}, last)
    skipped = Skipped()
    for n, (k, v) in enumerate([(key, record(1)), (key, deep), (key, b"{"), (b"\xff", record(9)), (key, record(2))]):
        skipped.visit(visit, k, v, f"marketdata[0]@{n}")
    skipped.visit(overflowing, key, record(3), "marketdata[0]@5")
    assert last == {market: T0 + 2 * MINUTE}
    assert skipped.count == 4 and skipped.first is not None and skipped.first.startswith("marketdata[0]@1")

    signals: dict[str, datetime] = {}
    for value in (deep, json.dumps({"nope": 1}).encode()):
        skipped.visit(signal_visit(signals), None, value, "signals[0]")
    assert signals == {} and skipped.count == 6


@pytest.mark.parametrize("broken", [RecursionError, MemoryError, KeyError, TypeError])
def test_no_exception_of_a_visit_escapes_the_read_back(broken: Callable[[str], Exception]) -> None:
    def visit(key: bytes | None, value: bytes | None) -> None:
        raise broken("boom")

    skipped = Skipped()
    skipped.visit(visit, None, None, "marketdata[3]@7")
    assert skipped.count == 1
