"""Hostile input from outside Kafka clients, on the real broker and a real worker: every poison
message is dead-lettered with its reason, the worker stays up, and a session trading a replayed
market meanwhile takes every candle, once, in order (judged against the data file).

The outside producer is aiokafka writing raw bytes; where a librdkafka client (kcat,
confluent-kafka) was the culprit, its default partitioner (consistent_random: CRC32 of the key)
is reproduced, so a record lands where kcat would have put it.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from r3edge_streams.catalogue import SPECS
from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import encode_key
from r3edge_streams.models.codec import partition_of
from tests.integration.test_datacollect_replay import values
from tests.integration.test_strategy_faults import replay_env
from tests.integration.test_strategy_signals import DATA, spec
from tests.kit.http import Pending, request, start_session, wait_for, wait_for_async
from tests.kit.kafka import read_all, seal_headers
from tests.kit.workers import Worker

PARTITIONS = 4
MARKET = "replay:UNITTEST/BTC:1m"
ROWS: list[list[Any]] = json.loads(DATA.read_text())[:2000]
DEEP = b"[" * 100_000 + b"]" * 100_000


def crc32_partition(key: bytes, partitions: int = PARTITIONS) -> int:
    """librdkafka's default partitioner (consistent_random) for a non-empty key."""
    return zlib.crc32(key) % partitions


async def send(
    kafka: LocalKafka,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    partition: int | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> tuple[int, int]:
    """One raw record from an outside producer; its (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, acks="all", max_request_size=4 * 1024 * 1024)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value=value, key=key, partition=partition, headers=headers)
        return meta.partition, meta.offset
    finally:
        await producer.stop()


def _moment(row: list[Any]) -> str:
    return datetime.fromtimestamp(int(row[0]) / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


FORGED = "0.424242"  # the volume of the forged candle (only the real ones are counted below)


def _candle(row: list[Any], **changes: Any) -> bytes:
    body = {
        "exchange": "replay",
        "symbol": "UNITTEST/BTC",
        "timeframe": "1m",
        "open_time": _moment(row),
        "open": str(row[1]),
        "high": str(row[2]),
        "low": str(row[3]),
        "close": str(row[4]),
        "volume": str(row[5]),
        **changes,
    }
    return json.dumps(body).encode()


def _poison(prefix: str) -> list[tuple[str, str, bytes | None, bytes | None, list[tuple[str, bytes]] | None]]:
    """(what, topic, key, value) of every case the outside tester found, on every consumed topic."""
    topics = [
        "workloadcommands",
        "marketdata",
        "strategiesdata",
        "sessioncommands",
        "sessionsrequest",
        "positions",
        "strategycommands",
    ]
    cases: list[tuple[str, str, bytes | None, bytes | None]] = []
    for topic in topics:
        cases.append(("deep JSON value", topic, encode_key("k"), DEEP))
        cases.append(("deep JSON key", topic, DEEP, b"{}"))
    cases += [
        ("binary larger than a dead letter may be", "sessionsrequest", encode_key("steady"), bytes(range(256)) * 3500),
        (
            "negative prices",
            "marketdata",
            encode_key(MARKET),
            _candle(ROWS[-1], open="-5", high="-1", low="-9", close="-2"),
        ),
        (
            "unknown timeframe",
            "workloadcommands",
            encode_key("replay:UNITTEST/BTC:7m"),
            json.dumps(
                {
                    "command_id": "op-7m",
                    "action": "acquire",
                    "exchange": "replay",
                    "symbol": "UNITTEST/BTC",
                    "timeframe": "7m",
                    "strategy_id": "op",
                    "session_id": "op",
                    "at": "2026-01-01T00:00:00Z",
                }
            ).encode(),
        ),
        (
            "negative price request",
            "sessionsrequest",
            encode_key("steady"),
            json.dumps(
                {
                    "request_id": "price:steady:evil",
                    "session_id": "steady",
                    "kind": "price",
                    "at": "2017-11-05T00:00:00Z",
                    "price": "-1",
                }
            ).encode(),
        ),
        (
            "end of the calendar",
            "sessioncommands",
            encode_key("doomsday"),
            json.dumps(
                {
                    "command_id": "create:doomsday",
                    "session_id": "doomsday",
                    "kind": "create",
                    "issued_at": "9999-12-31T23:59:59Z",
                    "spec": {**spec("sma_cross", {"fast": 5, "slow": 20}), "auto_stop": {"max_duration_seconds": 60}},
                }
            ).encode(),
        ),
        (
            "start of the calendar",
            "sessionsrequest",
            encode_key("steady"),
            json.dumps(
                {
                    "request_id": "tick:steady:0",
                    "session_id": "steady",
                    "kind": "tick",
                    "at": "0001-01-01T00:00:00+01:00",
                }
            ).encode(),
        ),
    ]
    forged = json.dumps({"request_id": "price:steady:forged", "session_id": "steady", "kind": "price",
                         "at": "2030-01-01T00:00:00Z", "price": "1"}).encode()  # fmt: skip
    unsealed = [
        ("a valid-looking price from outside", "sessionsrequest", encode_key("steady"), forged),
        ("a valid-looking candle from outside", "marketdata", encode_key(MARKET), _candle(ROWS[-1], volume=FORGED)),
    ]
    # the cases above as an operator holding the seal key sends them, so each meets the codec's
    # checks; the forged ones without it (taken, they would break the session's price count)
    return [
        (what, f"{prefix}.{topic}", key, value, seal_headers(topic, key, value) if SPECS[topic].sealed else None)
        for what, topic, key, value in cases
    ] + [(what, f"{prefix}.{topic}", key, value, None) for what, topic, key, value in unsealed]


async def parsed(kafka: LocalKafka, topic: str) -> list[dict[str, Any]]:
    """The JSON objects on ``topic`` in partition order; the poison this test sent is skipped."""
    found = []
    for record in sorted(await read_all(kafka.bootstrap, topic, timeout=60), key=lambda r: (r.partition, r.offset)):
        try:
            value = json.loads(record.value or b"null")
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _feed(worker: Worker, session: str) -> dict[str, Any]:
    feed: dict[str, Any] = request("GET", f"{worker.url}/sessions/{session}").body["feed"] or {}
    return feed


async def test_poison_on_every_topic_is_dead_lettered_while_a_session_takes_every_candle_once(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    worker = workers(extra_env=replay_env(tmp_path, ROWS, "x2400"))  # 40 candles a second
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    assert (
        request(
            "POST", f"{worker.url}/sessions", {"session_id": "steady", **spec("sma_cross", {"fast": 5, "slow": 20})}
        ).status
        == 201
    )
    await asyncio.to_thread(start_session, worker.url, "steady")
    await wait_for_async(
        lambda: asyncio.to_thread(lambda: _feed(worker, "steady").get("prices", 0) > 20),
        60,
        what="the steady session's first prices",
    )
    sent = {}
    for what, topic, key, value, headers in _poison(topic_prefix):
        sent[await send(kafka, topic, key, value, headers=headers)] = (what, topic)

    async def all_dead_lettered() -> list[dict[str, Any]] | None:
        letters = await values(kafka, f"{topic_prefix}.deadletters")
        found = {(dl["source_topic"], dl["partition"], dl["offset"]) for dl in letters}
        return letters if all((topic, *where) in found for where, (_, topic) in sent.items()) else None

    letters = await wait_for_async(all_dead_lettered, 120, interval=1, what="a dead letter for every poison message")
    for (partition, offset), (what, topic) in sent.items():
        letter = next(
            dl
            for dl in letters
            if dl["partition"] == partition and dl["offset"] == offset and dl["source_topic"] == topic
        )
        assert letter["reason"], what
    big = next(dl for dl in letters if dl["value_encoding"] == "base64")
    assert big["truncated"] and big["value_bytes"] == 256 * 3500 and len(big["value"]) <= 16 * 1024
    reasons = " | ".join(dl["reason"] for dl in letters)
    for expected in (
        "nested deeper",
        "prices must be positive",
        "timeframe '7m'",
        "price must be positive",
        "between 1970 and 2200",
        "not sealed",
    ):
        assert expected in reasons, expected

    async def every_candle_taken_once() -> bool:
        candles = [
            c
            for c in await parsed(kafka, f"{topic_prefix}.marketdata")
            if c.get("timeframe") == "1m" and not c["open"].startswith("-") and c["volume"] != FORGED
        ]
        feed = _feed(worker, "steady")
        return len(candles) >= len(ROWS) - 5 and feed.get("prices") == len(candles)

    await wait_for_async(every_candle_taken_once, 600, interval=2, what="the replay's candles to reach the session")
    published = [
        c["open_time"]
        for c in await parsed(kafka, f"{topic_prefix}.marketdata")
        if c.get("timeframe") == "1m" and not c["open"].startswith("-") and c["volume"] != FORGED
    ]
    assert published == [_moment(r) for r in ROWS[: len(published)]]  # each real candle once, in order: no poison
    assert worker.process is not None and worker.process.poll() is None, "the worker stayed up"
    items = request("GET", f"{worker.url}/workloads").body["items"]
    assert [i["market"] for i in items] == [MARKET]  # the 7m command acquired nothing
    assert request("GET", f"{worker.url}/sessions/doomsday").status == 404


async def test_a_keyed_message_on_the_wrong_partition_is_forwarded_to_its_keys_partition(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers()
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    session = next(
        f"kcat-{n}"
        for n in range(100)
        if crc32_partition(encode_key(f"kcat-{n}")) != partition_of(f"kcat-{n}", PARTITIONS)
    )
    key = encode_key(session)
    command = {
        "command_id": f"create:{session}",
        "session_id": session,
        "kind": "create",
        "issued_at": "2026-01-01T00:00:00Z",
        "spec": spec("sma_cross", {"fast": 5, "slow": 20}),
    }
    landed, _ = await send(
        kafka, f"{topic_prefix}.sessioncommands", key, json.dumps(command).encode(), partition=crc32_partition(key)
    )

    def created() -> dict[str, Any] | None:
        reply = request("GET", f"{worker.url}/sessions/{session}")
        return reply.body if reply.status == 200 else None

    assert wait_for(created, 60, what="the forwarded create")["status"] == "created"
    assert request("POST", f"{worker.url}/sessions/{session}/start").status == 200  # its owner knows it
    assert request("POST", f"{worker.url}/sessions/{session}/stop").status == 200
    placed = sorted(
        (r.partition, json.loads(r.value or b"{}")["kind"])
        for r in await read_all(kafka.bootstrap, f"{topic_prefix}.sessioncommands")
        if json.loads(r.value or b"{}").get("session_id") == session
    )
    owner = partition_of(session, PARTITIONS)
    assert placed == sorted([(landed, "create"), (owner, "create"), (owner, "start"), (owner, "stop")])
    assert not [dl for dl in await values(kafka, f"{topic_prefix}.deadletters")], "forwarded, not dead-lettered"


async def test_the_largest_window_allowed_stays_far_below_kafkas_limit_and_a_larger_one_is_refused(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    rows: list[list[Any]] = json.loads(DATA.read_text())[:2600]
    env = {**replay_env(tmp_path, rows, "max"), "R3EDGE_COLLECT_LOOKBACK": "300"}  # history warms the rest
    worker = workers(extra_env=env)
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    too_long = request(
        "POST", f"{worker.url}/sessions", {"session_id": "huge", **spec("sma_cross", {"fast": 10, "slow": 5000})}
    )
    assert too_long.status == 422 and too_long.body["errors"][0]["field"] == "parameters.slow", too_long
    command = {
        "command_id": "create:huge",
        "session_id": "huge",
        "kind": "create",
        "issued_at": "2026-01-01T00:00:00Z",
        "spec": spec("sma_cross", {"fast": 10, "slow": 5000}),
    }
    await send(kafka, f"{topic_prefix}.sessioncommands", encode_key("huge"), json.dumps(command).encode())
    assert (
        request(
            "POST", f"{worker.url}/sessions", {"session_id": "widest", **spec("sma_cross", {"fast": 10, "slow": 1999})}
        ).status
        == 201
    )
    await asyncio.to_thread(start_session, worker.url, "widest")
    changelog = f"{topic_prefix}.r3edge-strategy_windows-changelog"

    def decided() -> bool | Pending:  # cheap to poll: the changelog itself is read once, at the end
        items = request("GET", f"{worker.url}/strategies").body.get("items") or [{}]
        return items[0].get("last_candle") == _moment(rows[-1]) or Pending(f"window at {items[0].get('last_candle')}")

    await wait_for_async(
        lambda: asyncio.to_thread(decided), 240, interval=2, what="the window of every collected candle"
    )
    sizes = [len(r.value or b"") for r in await read_all(kafka.bootstrap, changelog, timeout=120)]
    assert sizes, "windows were written"  # one per step; a step that catches up on missed candles writes once
    assert max(sizes) < 1024 * 1024 // 4, f"largest window record {max(sizes)} bytes"  # far below Kafka's 1 MB
    assert min(sizes[-10:]) > 1999 * 40, "the window holds the whole warm-up"
    assert worker.process is not None and worker.process.poll() is None
    notices = [n for n in await values(kafka, f"{topic_prefix}.notifications") if n.get("session_id") == "huge"]
    assert notices and "2000" in notices[0]["body"]  # the Kafka create was refused, with the reason
    assert request("GET", f"{worker.url}/sessions/huge").status == 404
