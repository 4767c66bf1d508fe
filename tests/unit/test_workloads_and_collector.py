"""Workload reference counting, candle fan-out and the collector's cursor rules, without Kafka."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from r3edge_streams.collector import Collector
from r3edge_streams.domain.fanout import price_updates, strategy_candles
from r3edge_streams.domain.workloads import apply_workload_command
from r3edge_streams.exchanges.registry import replay_from_directory
from r3edge_streams.models import Candle, RequestKind, Workload, WorkloadAction, WorkloadCommand

DATA = Path(__file__).resolve().parents[1] / "data"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def command(action: WorkloadAction, strategy: str, session: str) -> WorkloadCommand:
    return WorkloadCommand(
        command_id=f"{action}:{strategy}:{session}",
        action=action,
        exchange="replay",
        symbol="UNITTEST/BTC",
        timeframe="1m",
        strategy_id=strategy,
        session_id=session,
        at=T0,
    )


def run(*commands: WorkloadCommand) -> Workload | None:
    state: Workload | None = None
    for cmd in commands:
        state = apply_workload_command(state, cmd) or state
    return state


ACQ, REL = WorkloadAction.ACQUIRE, WorkloadAction.RELEASE


def test_a_market_is_held_while_any_session_needs_it() -> None:
    state = run(command(ACQ, "st1", "a"), command(ACQ, "st1", "b"), command(ACQ, "st2", "c"), command(REL, "st1", "a"))
    assert state is not None and state.active
    assert state.holders == {"st1": ["b"], "st2": ["c"]} and state.sessions == ["b", "c"]
    state = run(command(ACQ, "st1", "a"), command(REL, "st1", "a"))
    assert state is not None and not state.active and state.holders == {}


def test_repeated_and_unmatched_commands_change_nothing() -> None:
    once = apply_workload_command(None, command(ACQ, "st1", "a"))
    assert once is not None and once.version == 1
    assert apply_workload_command(once, command(ACQ, "st1", "a")) is None
    assert apply_workload_command(once, command(REL, "st1", "zz")) is None
    assert apply_workload_command(None, command(REL, "st1", "a")) is None


def test_fan_out_gives_each_strategy_the_candle_and_each_session_one_price() -> None:
    workload = run(command(ACQ, "st1", "a"), command(ACQ, "st2", "a"), command(ACQ, "st2", "b"))
    assert workload is not None
    candle = replay_candles()[0]
    assert [s.strategy_id for s in strategy_candles(candle, workload)] == ["st1", "st2"]
    updates = price_updates(candle, workload.sessions)
    assert [(u.session_id, u.kind, u.price) for u in updates] == [
        ("a", RequestKind.PRICE, candle.close),
        ("b", RequestKind.PRICE, candle.close),
    ]
    assert updates[0].at == datetime(2017, 11, 4, 23, 3, tzinfo=timezone.utc)  # the candle's close
    assert price_updates(candle, workload.sessions) == updates  # same ids for a redelivered candle


def replay_candles() -> list[Candle]:
    from r3edge_streams.exchanges.ohlcv_files import load_ohlcv

    return load_ohlcv(DATA / "UNITTEST_BTC-1m.json", "replay", "UNITTEST/BTC", "1m")


class MemorySink:
    def __init__(self) -> None:
        self.candles: list[Candle] = []

    async def publish(self, candles: list[Candle]) -> None:
        self.candles += candles

    async def reject(self, rejected: list[tuple[Candle, str]]) -> None:
        raise AssertionError(f"the real data has no invalid candle: {rejected}")


async def test_collector_publishes_everything_once_and_resumes_after_the_recovered_cursor() -> None:
    exchange = replay_from_directory(DATA, float("inf"))
    workload = run(command(ACQ, "st1", "a"))
    assert workload is not None
    sink = MemorySink()
    collector = Collector(exchanges=lambda _: exchange, sink=sink, lookback=20_000)

    scans: list[tuple[list[str], datetime]] = []

    async def nothing_published(markets: list[str], since: datetime) -> dict[str, datetime]:
        scans.append((markets, since))
        return {}

    await collector.collect([workload])
    assert sink.candles == [], "nothing before the cursor was read back"
    await collector.recover([workload], nothing_published)
    history_end = datetime(2017, 11, 14, 23, 0, tzinfo=timezone.utc)  # the replay's "now"
    assert scans == [(["replay:UNITTEST/BTC:1m"], history_end - timedelta(minutes=20_002))]
    await collector.recover([workload], nothing_published)
    assert len(scans) == 1, "a market is read back once per partition assignment"
    for _ in range(20):
        await collector.collect([workload])
    assert unlinked(sink.candles) == replay_candles()
    assert [c.previous_open for c in sink.candles] == [None] + [c.open_time for c in replay_candles()[:-1]]

    cut = replay_candles()[5000].open_time
    await collector.on_rebalance()  # another worker may have published meanwhile: start from the topic
    resumed = MemorySink()
    collector.sink = resumed

    async def published_up_to_cut(markets: list[str], since: datetime) -> dict[str, datetime]:
        return {markets[0]: cut}

    await collector.recover([workload], published_up_to_cut)
    for _ in range(20):
        await collector.collect([workload])
    assert unlinked(resumed.candles) == replay_candles()[5001:]
    assert resumed.candles[0].previous_open == cut, "the link continues from the candle read back"
    assert collector.status[workload.market].last_open == replay_candles()[-1].open_time


def unlinked(candles: list[Candle]) -> list[Candle]:
    """The candles without their link to the one published before (the exchange has no such link)."""
    return [c.derive(previous_open=None) for c in candles]
