"""One slow, broken or hostile market never delays or stops another, on the real broker and a real worker.

An exchange that accepts connections and never answers (a local TCP server), a 100,000-deep JSON
record on ``marketdata``, an unknown timeframe in the workload table and worker restarts; the
candles are judged on ``marketdata`` with an independent aiokafka consumer. Loopback only.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import encode_key
from r3edge_streams.models.codec import partition_of
from tests.integration.test_datacollect_replay import values, workload_command
from tests.kit.http import request, wait_for_async
from tests.kit.kafka import produce, read_all, sealed
from tests.kit.workers import Worker

DATA = Path(__file__).resolve().parents[1] / "data"
REPLAY_1M, REPLAY_5M = "replay:UNITTEST/BTC:1m", "replay:UNITTEST/BTC:5m"
UNKNOWN_TIMEFRAME = "replay:UNITTEST/BTC:7m"
SILENT = "binance:UNITTEST/BTC:1m"
DEEP = b"[" * 100_000 + b"]" * 100_000


@dataclass
class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection, reads what comes and never answers."""

    port: int = 0
    connections: int = 0
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def __aenter__(self) -> SilentServer:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        while await reader.read(65536):
            pass  # swallow the request; never a byte back


@dataclass(frozen=True)
class Published:
    """One candle on marketdata with Kafka's record time (seconds)."""

    at: float
    candle: dict[str, Any]


async def published(kafka: LocalKafka, prefix: str) -> dict[str, list[Published]]:
    """Every candle on marketdata by market, in publish order (undecodable records left out)."""
    records = sorted(
        await read_all(kafka.bootstrap, f"{prefix}.marketdata", timeout=60), key=lambda r: (r.partition, r.offset)
    )
    by_market: dict[str, list[Published]] = {}
    for record in records:
        try:
            candle = json.loads(record.value or b"null")
        except RecursionError:
            continue
        if isinstance(candle, dict) and "open_time" in candle:
            market = f"{candle['exchange']}:{candle['symbol']}:{candle['timeframe']}"
            by_market.setdefault(market, []).append(Published(record.timestamp / 1000, candle))
    return by_market


async def start(worker: Worker) -> Worker:
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    return worker


async def restart(worker: Worker) -> Worker:
    await asyncio.to_thread(worker.stop)
    return await start(worker)


async def statuses(worker: Worker) -> dict[str, dict[str, Any]]:
    reply = await asyncio.to_thread(request, "GET", f"{worker.url}/workloads")
    return {item["market"]: item for item in reply.body["items"]}


async def acquire(kafka: LocalKafka, prefix: str, *markets: str) -> None:
    await produce(
        kafka.bootstrap,
        f"{prefix}.workloadcommands",
        [workload_command("acquire", f"st-{n}", "sess-1", market) for n, market in enumerate(markets)],
    )


async def count_at_least(kafka: LocalKafka, prefix: str, wanted: dict[str, int]) -> dict[str, list[Published]] | None:
    found = await published(kafka, prefix)
    return found if all(len(found.get(m, [])) >= n for m, n in wanted.items()) else None


def replay_env(speed: str, **extra: str) -> dict[str, str]:
    return {
        "R3EDGE_REPLAY_DIR": str(DATA),
        "R3EDGE_REPLAY_SPEED": speed,
        "R3EDGE_COLLECT_INTERVAL": "0.3",
        "R3EDGE_COLLECT_LOOKBACK": "20000",
        **extra,
    }


def assert_one_series(candles: list[Published]) -> None:
    """Each open time once, in order, each linked to the one published before it."""
    opens = [p.candle["open_time"] for p in candles]
    assert opens == sorted(set(opens)), "each candle once, in order"
    assert [p.candle["previous_open"] for p in candles[1:]] == opens[:-1]


async def test_a_replay_market_keeps_its_pace_while_another_exchange_never_answers(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    async with SilentServer() as silent:
        env = replay_env(
            "x600",
            R3EDGE_EXCHANGE_URLS=f"binance=http://127.0.0.1:{silent.port}",
            R3EDGE_COLLECT_ROUND_TIMEOUT="2",
            R3EDGE_EXCHANGE_TIMEOUT="10",
        )
        worker = await start(workers(extra_env=env))  # x600: ten 1-minute candles a second
        await acquire(kafka, topic_prefix, SILENT, REPLAY_1M)

        async def silent_error() -> str | None:
            item = (await statuses(worker)).get(SILENT)
            return item["error"] if item and item["error_at"] else None

        assert await wait_for_async(silent_error, 60, what="the silent exchange's error") == "timed out after 2 s"
        assert silent.connections >= 1
        since, window = datetime.now(timezone.utc).timestamp(), 12.0
        await asyncio.sleep(window)
        candles = (await published(kafka, topic_prefix))[REPLAY_1M]
        inside = [p.at for p in candles if since <= p.at <= since + window]
        assert len(inside) >= 0.5 * 10 * window, f"only {len(inside)} candles in {window:.0f} s at ten a second"
        gaps = [b - a for a, b in zip([since, *inside], [*inside, since + window], strict=True)]
        assert max(gaps) <= 3.0, f"the replay market paused {max(gaps):.1f} s"
        assert_one_series(candles)
        now = await statuses(worker)
        assert now[REPLAY_1M]["error"] is None and now[SILENT]["error"] == "timed out after 2 s"
        assert now[SILENT]["published"] == 0


async def test_a_deep_json_record_and_an_unknown_timeframe_stop_no_collection_across_a_restart(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = await start(workers(extra_env=replay_env("x600")))
    await acquire(kafka, topic_prefix, REPLAY_1M, REPLAY_5M, UNKNOWN_TIMEFRAME)
    await wait_for_async(
        lambda: count_at_least(kafka, topic_prefix, {REPLAY_1M: 50, REPLAY_5M: 10}), 90, what="both markets collected"
    )
    deep = [(encode_key(REPLAY_1M), DEEP), (encode_key(REPLAY_5M), DEEP)]
    await produce(
        kafka.bootstrap,
        f"{topic_prefix}.marketdata",  # on the partition the cursors are read from
        deep,
        sealed("marketdata", deep),  # sealed (as with the key): the codec's to refuse
    )

    async def dead_lettered() -> list[dict[str, Any]] | None:
        letters = [
            d
            for d in await values(kafka, f"{topic_prefix}.deadletters")
            if d["source_topic"] == f"{topic_prefix}.marketdata"
        ]
        return letters if len(letters) >= 2 else None

    letters = await wait_for_async(dead_lettered, 60, what="the deep records dead-lettered by the fan-out")
    assert all("nested deeper" in d["reason"] for d in letters)
    before = await published(kafka, topic_prefix)

    await restart(worker)  # its cursors are read back across the deep records
    wanted = {REPLAY_1M: len(before[REPLAY_1M]) + 30, REPLAY_5M: len(before[REPLAY_5M]) + 6}
    after = await wait_for_async(
        lambda: count_at_least(kafka, topic_prefix, wanted), 90, what="collection resumed on every market"
    )
    for market in (REPLAY_1M, REPLAY_5M):
        assert_one_series(after[market])  # resumed at the cursor: nothing twice, nothing skipped
    assert worker.process is not None and worker.process.poll() is None, "the worker stays up"
    partition = partition_of(REPLAY_1M, worker.partitions)  # the 5m market's too
    assert re.search(rf"read-back of \S+marketdata\[{partition}\] skipped [12] undecodable records", worker.log_text())
    status = await statuses(worker)
    assert status[REPLAY_1M]["error"] is None and status[REPLAY_5M]["error"] is None
    # the 7m acquire was refused at the door (workloadcommands' rule), so it never became a market
    # to collect; a bad market that is in the table anyway is that market's error only (unit tests)
    assert UNKNOWN_TIMEFRAME not in status
    refused = [
        d
        for d in await values(kafka, f"{topic_prefix}.deadletters")
        if d["source_topic"] == f"{topic_prefix}.workloadcommands"
    ]
    assert len(refused) == 1 and "timeframe '7m'" in refused[0]["reason"]


async def test_after_a_restart_a_finite_speed_replay_goes_on_at_once_from_its_cursor(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = await start(workers(extra_env=replay_env("x120")))  # two 1-minute candles a second
    await acquire(kafka, topic_prefix, REPLAY_1M)
    first = await wait_for_async(
        lambda: count_at_least(kafka, topic_prefix, {REPLAY_1M: 1}), 60, what="the first candle"
    )
    first_at = first[REPLAY_1M][0].at
    await wait_for_async(
        lambda: count_at_least(kafka, topic_prefix, {REPLAY_1M: 60}), 90, what="thirty seconds of replay"
    )
    await asyncio.to_thread(worker.stop)
    before = (await published(kafka, topic_prefix))[REPLAY_1M]
    old_run = before[-1].at - first_at  # how long the old worker replayed

    await start(worker)
    ready = datetime.now(timezone.utc).timestamp()
    after = await wait_for_async(
        lambda: count_at_least(kafka, topic_prefix, {REPLAY_1M: len(before) + 1}),
        60,
        interval=0.5,
        what="a new candle after the restart",
    )
    resumed = after[REPLAY_1M][len(before)]
    waited = resumed.at - ready
    assert waited < min(10.0, old_run / 2), (
        f"the first new candle came {waited:.1f} s after the restart (the old worker had replayed {old_run:.0f} s)"
    )
    assert resumed.candle["previous_open"] == before[-1].candle["open_time"], "it goes on from the cursor"
    assert_one_series(after[REPLAY_1M])
