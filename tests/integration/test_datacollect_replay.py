"""DataCollect on the real broker: replaying the real 1-minute candles through a worker."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import encode_key
from tests.kit.http import Pending, wait_for_async
from tests.kit.kafka import produce, read_all
from tests.kit.workers import Worker

DATA = Path(__file__).resolve().parents[1] / "data"
RAW: list[list[Any]] = json.loads((DATA / "UNITTEST_BTC-1m.json").read_text(), parse_float=Decimal)
MARKET = "replay:UNITTEST/BTC:1m"


def workload_command(action: str, strategy_id: str, session_id: str, market: str = MARKET) -> tuple[bytes, bytes]:
    exchange, symbol, timeframe = market.split(":")
    value = {
        "command_id": f"{action}:{strategy_id}:{session_id}",
        "action": action,
        "exchange": exchange,
        "symbol": symbol,
        "timeframe": timeframe,
        "strategy_id": strategy_id,
        "session_id": session_id,
        "at": "2026-01-01T00:00:00Z",
    }
    return encode_key(market), json.dumps(value).encode()


async def values(kafka: LocalKafka, topic: str) -> list[dict[str, Any]]:
    return [
        json.loads(r.value or b"null")
        for r in sorted(await read_all(kafka.bootstrap, topic, timeout=60), key=lambda r: (r.partition, r.offset))
    ]


async def test_replay_publishes_every_real_candle_once_in_order_and_once_to_each_instance(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers(
        extra_env={
            "R3EDGE_REPLAY_DIR": str(DATA),
            "R3EDGE_REPLAY_SPEED": "max",
            "R3EDGE_COLLECT_INTERVAL": "0.5",
            "R3EDGE_COLLECT_LOOKBACK": "20000",
        }
    )
    worker.start().wait_ready()
    await produce(
        kafka.bootstrap,
        f"{topic_prefix}.workloadcommands",
        [
            workload_command("acquire", "st-1", "sess-a"),
            workload_command("acquire", "st-1", "sess-b"),
            workload_command("acquire", "st-1", "sess-a"),  # a repeat changes nothing
        ],
    )

    async def all_published() -> list[dict[str, Any]] | Pending:
        candles = await values(kafka, f"{topic_prefix}.marketdata")
        return candles if len(candles) >= len(RAW) else Pending(f"{len(candles)} of {len(RAW)} candles")

    candles = await wait_for_async(all_published, 240, interval=2, what="every candle on marketdata")
    assert len(candles) == len(RAW)
    expected = [[str(v) for v in row[1:]] for row in RAW]
    assert [[c["open"], c["high"], c["low"], c["close"], c["volume"]] for c in candles] == expected
    opens = [c["open_time"] for c in candles]
    assert opens == sorted(opens) and len(set(opens)) == len(opens)

    async def all_fanned_out() -> list[dict[str, Any]] | Pending:
        fanned = await values(kafka, f"{topic_prefix}.strategiesdata")
        return fanned if len(fanned) >= len(RAW) else Pending(f"{len(fanned)} of {len(RAW)} candles to st-1")

    await wait_for_async(all_fanned_out, 240, interval=2, what="every candle to the instance st-1")
    # prices reach sessions from their instance's strategy agent, in order with its signals; st-1
    # is no active instance here (only its workload was acquired), so no session gets one
    assert [r for r in await values(kafka, f"{topic_prefix}.sessionsrequest") if r["kind"] == "price"] == []
    strategy = await values(kafka, f"{topic_prefix}.strategiesdata")
    assert [s["candle"]["open_time"] for s in strategy] == opens


REPLAY_ENV = {"R3EDGE_REPLAY_DIR": str(DATA), "R3EDGE_COLLECT_INTERVAL": "0.3", "R3EDGE_COLLECT_LOOKBACK": "20000"}
TIMEFRAMES = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h"]


def expected_series(timeframe: str) -> list[str]:
    """Open times of the file resampled to ``timeframe`` that closed before the history ends."""
    minutes = {"1m": 1, "3m": 3, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "4h": 240}[timeframe]
    size = minutes * 60_000
    history_end = int(RAW[-1][0]) + 60_000
    buckets = sorted({int(row[0]) // size * size for row in RAW})
    buckets = [b for b in buckets if b + size <= history_end]
    from datetime import datetime, timezone

    return [datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z") for ms in buckets]


async def test_two_workers_split_the_markets_and_a_killed_one_loses_and_duplicates_nothing(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    env = {**REPLAY_ENV, "R3EDGE_REPLAY_SPEED": "x40000"}  # the 10 days of history pass in about 22 s
    first = workers("w1", extra_env=env).start().wait_ready()
    second = workers("w2", extra_env=env).start().wait_ready()
    await acquire_all_timeframes(kafka, topic_prefix)

    async def both_collect() -> bool:
        from tests.kit.http import request

        mine = [len(request("GET", f"{w.url}/workloads?scope=local").body["items"]) for w in (first, second)]
        return all(mine) and sum(mine) == len(TIMEFRAMES)

    await wait_for_async(both_collect, 60, what="both workers to own workloads")
    await wait_for_async(lambda: _count_at_least(kafka, topic_prefix, 500), 60, what="collection under way")
    first.kill()  # mid-stream: no shutdown, no commit
    await assert_every_market_complete(kafka, topic_prefix)


async def test_a_worker_joining_mid_stream_takes_its_share_without_loss_or_repeat(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    env = {**REPLAY_ENV, "R3EDGE_REPLAY_SPEED": "x20000"}
    first = workers("w1", extra_env=env).start().wait_ready()
    await acquire_all_timeframes(kafka, topic_prefix)
    await wait_for_async(lambda: _count_at_least(kafka, topic_prefix, 300), 60, what="collection under way")
    second = workers("w2", extra_env=env).start().wait_ready()  # partitions move from a live owner
    from tests.kit.http import request

    def shares() -> list[int]:
        return [len(request("GET", f"{w.url}/workloads?scope=local").body["items"]) for w in (first, second)]

    await wait_for_async(
        lambda: _true(all(shares()) and sum(shares()) == len(TIMEFRAMES)),
        60,
        what="the markets to be shared by both workers",
    )
    await assert_every_market_complete(kafka, topic_prefix)


async def _true(value: bool) -> bool:
    return value


async def acquire_all_timeframes(kafka: LocalKafka, prefix: str) -> None:
    markets = [f"replay:UNITTEST/BTC:{tf}" for tf in TIMEFRAMES]
    await produce(
        kafka.bootstrap,
        f"{prefix}.workloadcommands",
        [
            workload_command("acquire", f"st-{tf}", "sess-1", market)
            for tf, market in zip(TIMEFRAMES, markets, strict=True)
        ],
    )


async def assert_every_market_complete(kafka: LocalKafka, topic_prefix: str) -> None:
    """Every timeframe's series on marketdata is the expected one: none lost, none twice, in order."""
    expected = {tf: len(expected_series(tf)) for tf in TIMEFRAMES}

    async def complete() -> dict[str, list[str]] | Pending:
        candles = await values(kafka, f"{topic_prefix}.marketdata")
        series: dict[str, list[str]] = {}
        for candle in candles:
            series.setdefault(candle["timeframe"], []).append(candle["open_time"])
        progress = {tf: len(series.get(tf, [])) for tf in TIMEFRAMES}
        done = all(progress[tf] >= expected[tf] for tf in TIMEFRAMES)
        return series if done else Pending(f"published {progress}, expected {expected}")

    series = await wait_for_async(complete, 180, interval=2, what="every market fully published")
    for timeframe in TIMEFRAMES:
        assert series[timeframe] == expected_series(timeframe), timeframe  # none lost, none twice, in order


async def _count_at_least(kafka: LocalKafka, prefix: str, count: int) -> bool:
    return len(await read_all(kafka.bootstrap, f"{prefix}.marketdata")) >= count


async def test_many_sessions_share_one_collection_which_ends_with_the_last_one(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    from tests.kit.http import request

    worker = workers(extra_env={**REPLAY_ENV, "R3EDGE_REPLAY_SPEED": "x120"}).start().wait_ready()
    topic = f"{topic_prefix}.workloadcommands"
    sessions = [f"sess-{n}" for n in range(5)]
    await produce(kafka.bootstrap, topic, [workload_command("acquire", "st-1", s) for s in sessions])

    async def flowing() -> list[dict[str, Any]] | Pending:
        candles = await values(kafka, f"{topic_prefix}.marketdata")
        return candles if len(candles) >= 20 else Pending(f"{len(candles)} of 20 candles")

    await wait_for_async(flowing, 60, what="candles flowing")
    listing = request("GET", f"{worker.url}/workloads").body["items"]
    assert [(w["market"], w["active"], w["sessions"]) for w in listing] == [(MARKET, True, sessions)]
    await produce(kafka.bootstrap, topic, [workload_command("release", "st-1", s) for s in sessions[:-1]])
    await wait_for_async(lambda: _grows(kafka, topic_prefix), 30, what="collection to go on for the last session")
    await produce(kafka.bootstrap, topic, [workload_command("release", "st-1", sessions[-1])])
    await wait_for_async(lambda: _workload_inactive(worker), 30, what="the workload to become inactive")
    stopped_at = len(await values(kafka, f"{topic_prefix}.marketdata"))
    import asyncio

    await asyncio.sleep(3)  # an observation window, deliberately fixed: ten collector rounds, none may publish
    candles = await values(kafka, f"{topic_prefix}.marketdata")
    assert len(candles) == stopped_at
    opens = [c["open_time"] for c in candles]
    assert opens == sorted(set(opens)), "one collection for five sessions: each candle once"
    fanned = [s["candle"]["open_time"] for s in await values(kafka, f"{topic_prefix}.strategiesdata")]
    assert fanned and fanned == opens[: len(fanned)], "the one instance got each candle once, in order"
    # prices reach sessions from their active instance (here only a workload was acquired): none
    assert [r for r in await values(kafka, f"{topic_prefix}.sessionsrequest") if r["kind"] == "price"] == []


async def _grows(kafka: LocalKafka, prefix: str) -> bool:
    import asyncio

    before = len(await read_all(kafka.bootstrap, f"{prefix}.marketdata"))
    await asyncio.sleep(1)  # pacing, not a wait: the span over which growth is measured (the wait retries it)
    return len(await read_all(kafka.bootstrap, f"{prefix}.marketdata")) > before


async def _workload_inactive(worker: Worker) -> bool:
    from tests.kit.http import request

    items = request("GET", f"{worker.url}/workloads").body["items"]
    return bool(items) and not items[0]["active"] and items[0]["sessions"] == []
