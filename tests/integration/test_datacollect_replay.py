"""DataCollect on the real broker: replaying the real 1-minute candles through a worker."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import encode_key
from tests.kit.http import wait_for_async
from tests.kit.kafka import produce, read_all
from tests.kit.workers import Worker

DATA = Path(__file__).resolve().parents[1] / "data"
RAW: list[list[Any]] = json.loads((DATA / "UNITTEST_BTC-1m.json").read_text(), parse_float=Decimal)
MARKET = "replay:UNITTEST/BTC:1m"


def workload_command(action: str, strategy_id: str, session_id: str, market: str = MARKET) -> tuple[bytes, bytes]:
    exchange, symbol, timeframe = market.split(":")
    value = {"command_id": f"{action}:{strategy_id}:{session_id}", "action": action, "exchange": exchange,
             "symbol": symbol, "timeframe": timeframe, "strategy_id": strategy_id, "session_id": session_id,
             "at": "2026-01-01T00:00:00Z"}
    return encode_key(market), json.dumps(value).encode()


async def values(kafka: LocalKafka, topic: str) -> list[dict[str, Any]]:
    return [json.loads(r.value or b"null") for r in sorted(await read_all(kafka.bootstrap, topic, timeout=60),
                                                           key=lambda r: (r.partition, r.offset))]


async def test_replay_publishes_every_real_candle_once_in_order_with_one_price_update_per_session(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers(extra_env={"R3EDGE_REPLAY_DIR": str(DATA), "R3EDGE_REPLAY_SPEED": "max",
                                "R3EDGE_COLLECT_INTERVAL": "0.5", "R3EDGE_COLLECT_LOOKBACK": "20000"})
    worker.start().wait_ready()
    await produce(kafka.bootstrap, f"{topic_prefix}.workloadcommands", [
        workload_command("acquire", "st-1", "sess-a"),
        workload_command("acquire", "st-1", "sess-b"),
        workload_command("acquire", "st-1", "sess-a"),  # a repeat changes nothing
    ])

    async def all_published() -> list[dict[str, Any]] | None:
        candles = await values(kafka, f"{topic_prefix}.marketdata")
        return candles if len(candles) >= len(RAW) else None

    candles = await wait_for_async(all_published, 240, interval=2, what="every candle on marketdata")
    assert len(candles) == len(RAW)
    expected = [[str(v) for v in row[1:]] for row in RAW]
    assert [[c["open"], c["high"], c["low"], c["close"], c["volume"]] for c in candles] == expected
    opens = [c["open_time"] for c in candles]
    assert opens == sorted(opens) and len(set(opens)) == len(opens)

    async def all_fanned_out() -> list[dict[str, Any]] | None:
        requests = await values(kafka, f"{topic_prefix}.sessionsrequest")
        return requests if len(requests) >= 2 * len(RAW) else None

    requests = await wait_for_async(all_fanned_out, 240, interval=2, what="price updates for both sessions")
    per_session = Counter(r["session_id"] for r in requests)
    assert per_session == {"sess-a": len(RAW), "sess-b": len(RAW)}
    assert len({r["request_id"] for r in requests}) == len(requests)
    for session in ("sess-a", "sess-b"):
        prices = [r["price"] for r in requests if r["session_id"] == session]
        assert prices == [str(row[4]) for row in RAW]
    strategy = await values(kafka, f"{topic_prefix}.strategiesdata")
    assert [s["candle"]["open_time"] for s in strategy] == opens
