"""DataCollect through real ccxt against the local Binance fake, on the real broker and a real worker.

The fake serves the real 1-minute candles; its clock is the exchange's "now", which the worker
follows (ccxt fetch_time). Tests move that clock to let time pass, and script outages and faults.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from r3edge_streams.localkafka import LocalKafka
from tests.integration.test_datacollect_replay import values, workload_command
from tests.kit.fake_binance import FakeBinance, load_candles
from tests.kit.http import Pending, request, wait_for_async
from tests.kit.kafka import produce
from tests.kit.workers import Worker

FILE = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
ROWS = load_candles(FILE)
MARKET = "binance:UNITTEST/BTC:1m"
START = datetime(2017, 11, 5, 6, 0, 30, tzinfo=timezone.utc)  # 30 s into a candle


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso(open_ms: int) -> str:
    return datetime.fromtimestamp(open_ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def closed_by(moment: datetime, rows: list[list[Any]] = ROWS) -> list[list[Any]]:
    """The file's candles that have closed at ``moment``."""
    return [row for row in rows if int(row[0]) + 60_000 <= ms(moment)]


@pytest.fixture
async def fake() -> AsyncIterator[FakeBinance]:
    async with FakeBinance({"UNITTEST/BTC": ROWS}, now_ms=ms(START)) as server:
        yield server


def binance_worker(workers: Callable[..., Worker], fake: FakeBinance, **env: str) -> Worker:
    return workers(
        extra_env={
            "R3EDGE_EXCHANGE_URLS": f"binance={fake.url}",
            "R3EDGE_COLLECT_INTERVAL": "0.3",
            "R3EDGE_COLLECT_LOOKBACK": "500",
            "R3EDGE_EXCHANGE_TIME_SYNC": "0.2",
            "R3EDGE_EXCHANGE_TIMEOUT": "1",
            **env,
        }
    )


async def start(worker: Worker) -> Worker:
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    return worker


async def published(kafka: LocalKafka, prefix: str, count: int) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | Pending:
        candles = await values(kafka, f"{prefix}.marketdata")
        return candles if len(candles) >= count else Pending(f"{len(candles)} of {count} candles")

    result: list[dict[str, Any]] = await wait_for_async(enough, 90, interval=1, what=f"{count} candles")
    return result


def as_rows(candles: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(c["open_time"], c["open"], c["high"], c["low"], c["close"], c["volume"]) for c in candles]


def file_rows(rows: list[list[Any]]) -> list[tuple[str, ...]]:
    return [(iso(int(r[0])), *(str(v) for v in r[1:6])) for r in rows]


async def test_live_collection_publishes_closed_candles_only_and_backfills_after_an_outage(
    workers: Callable[..., Worker], fake: FakeBinance, kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = await start(binance_worker(workers, fake))
    await produce(
        kafka.bootstrap, f"{topic_prefix}.workloadcommands", [workload_command("acquire", "st-1", "s1", MARKET)]
    )
    first = closed_by(START)[-500:]  # lookback: the last 500 closed candles
    candles = await published(kafka, topic_prefix, len(first))
    assert as_rows(candles) == file_rows(first)  # the forming 06:00 candle is not among them

    fake.fail_next("*", "server_error", times=10_000)  # the exchange goes down...
    outage_end = START + timedelta(hours=2)
    fake.set_now(ms(outage_end))  # ...for two hours

    async def reported() -> str | None:
        item = (await asyncio.to_thread(request, "GET", f"{worker.url}/workloads")).body["items"][0]
        error: str | None = item["error"]
        return error

    error = await wait_for_async(reported, 60, what="the outage in the workload view")
    assert "ExchangeNotAvailable" in error
    fake.clear_faults()
    everything = closed_by(outage_end)[-len(closed_by(outage_end)) + len(closed_by(START)) - 500 :]
    candles = await published(kafka, topic_prefix, len(everything))
    assert as_rows(candles) == file_rows(everything)  # backfilled in order, nothing twice
    resume = int(first[-1][0]) + 60_000  # right after the last candle published before the outage
    asked = sorted({int(p["startTime"]) for p in fake.requests_to("/api/v3/klines") if "startTime" in p})
    assert resume in asked  # the backfill asked from right after the cursor...
    assert all(t <= int(first[0][0]) or t >= resume for t in asked)  # ...and never for what it had


async def test_rate_limits_and_timeouts_are_survived(
    workers: Callable[..., Worker], fake: FakeBinance, kafka: LocalKafka, topic_prefix: str
) -> None:
    await start(binance_worker(workers, fake))
    await produce(
        kafka.bootstrap, f"{topic_prefix}.workloadcommands", [workload_command("acquire", "st-1", "s1", MARKET)]
    )
    first = closed_by(START)[-500:]
    await published(kafka, topic_prefix, len(first))
    fake.fail_next("/api/v3/klines", "rate_limit", times=2)
    fake.fail_next("/api/v3/klines", "timeout", times=1, delay=2.5)
    fake.fail_next("/api/v3/klines", "malformed", times=1)
    later = START + timedelta(minutes=45)
    fake.set_now(ms(later))
    expected = first + [row for row in closed_by(later) if int(row[0]) >= ms(START.replace(second=0))]
    candles = await published(kafka, topic_prefix, len(expected))
    assert as_rows(candles) == file_rows(expected)


async def test_invalid_exchange_candles_are_dead_lettered_and_skipped(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    rows = [list(row) for row in ROWS]
    closed = closed_by(START, rows)
    bad = closed[-10]
    bad[2], bad[3] = Decimal("0.001"), Decimal("0.002")  # high below low
    async with FakeBinance({"UNITTEST/BTC": rows}, now_ms=ms(START)) as server:
        await start(binance_worker(workers, server))
        await produce(
            kafka.bootstrap, f"{topic_prefix}.workloadcommands", [workload_command("acquire", "st-1", "s1", MARKET)]
        )
        good = [row for row in closed[-500:] if row is not bad]
        candles = await published(kafka, topic_prefix, len(good))
        assert as_rows(candles) == file_rows(good)

        async def letters() -> list[dict[str, Any]]:
            return await values(kafka, f"{topic_prefix}.deadletters")

        dead = await wait_for_async(letters, 30, what="the dead letter")
        assert [(d["source_topic"], d["key"]) for d in dead] == [("exchange:binance", MARKET)]
        assert "below low" in dead[0]["reason"]
        assert json.loads(dead[0]["value"])["open_time"] == iso(int(bad[0]))
