"""Sessions across workers: any worker answers for any session, a killed owner's sessions survive
with their state and their ticks resume on the survivor; a modification applies from the next candle."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from r3edge_streams.localkafka import LocalKafka
from tests.integration.test_datacollect_replay import values
from tests.integration.test_strategy_faults import replay_env
from tests.integration.test_strategy_signals import DATA, instance_id, spec
from tests.kit.http import Pending, request, start_session, wait_for_async
from tests.kit.reference import expected_signals
from tests.kit.workers import Worker

SPEC: dict[str, Any] = {
    "strategy": "sma_cross",
    "parameters": {"fast": 5, "slow": 20},
    "exchange": "binance",
    "symbol": "BTC/USDT",
    "timeframe": "1m",
    "mode": "paper",
    "refresh_seconds": 1,
}


def owns(worker: Worker, session_id: str) -> bool:
    return session_id in {s["session_id"] for s in request("GET", f"{worker.url}/sessions?scope=local").body["items"]}


async def test_either_worker_drives_any_session_and_a_killed_owner_loses_nothing(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    pair = [workers(name) for name in ("w1", "w2")]
    await asyncio.to_thread(lambda: [w.start() for w in pair] and [w.wait_ready() for w in pair])
    ids = [f"f{n}" for n in range(8)]
    for n, session_id in enumerate(ids):
        via = pair[n % 2]  # half of these land on the worker that does not own the session
        assert request("POST", f"{via.url}/sessions", {"session_id": session_id, **SPEC}).status == 201
        start_session(pair[(n + 1) % 2].url, session_id)
    assert request("POST", f"{pair[0].url}/sessions/f1/suspend").body["status"] == "suspended"
    patched = request("PATCH", f"{pair[1].url}/sessions/f2", {"refresh_seconds": 2})
    assert patched.status == 200 and patched.body["spec_version"] == 2, patched
    owners = {w.url: [s for s in ids if owns(w, s)] for w in pair}
    assert all(owners.values()) and sorted(sum(owners.values(), [])) == ids, owners
    victim, survivor = pair
    lost = owners[victim.url]
    await wait_for_async(lambda: _all_ticked(survivor, lost, 2), 30, what="ticks before the kill")
    before = {s: request("GET", f"{survivor.url}/sessions/{s}").body for s in ids}
    victim.kill()
    killed_at = datetime.now().astimezone()
    await wait_for_async(lambda: _all_owned_by(survivor, ids), 60, what="the survivor to own every session")
    after = {s: request("GET", f"{survivor.url}/sessions/{s}").body for s in ids}
    for session_id in ids:
        kept = {k: v for k, v in after[session_id].items() if k != "feed"}
        assert kept == {k: v for k, v in before[session_id].items() if k != "feed"}, session_id
    running = [s for s in lost if after[s]["status"] == "active"]
    assert running, "the killed worker owned active sessions"
    counts = {s: after[s]["feed"]["ticks"] for s in running}
    resumed = await wait_for_async(lambda: _ticked_since(survivor, counts, 3), 30, what="ticks on the survivor")
    assert all(datetime.fromisoformat(resumed[s].replace("Z", "+00:00")) > killed_at for s in running)
    ticks = [r for r in await values(kafka, f"{topic_prefix}.sessionsrequest") if r["kind"] == "tick"]
    for session_id in running:
        slots = [r["at"] for r in ticks if r["session_id"] == session_id]
        repeats = len(slots) - len(set(slots))
        assert repeats <= 1, f"{session_id}: at most the one slot both owners ticked, got {repeats}"
    suspended = [r for r in ticks if r["session_id"] == "f1"]
    assert len(suspended) <= 1 + 2, "a suspended session gets no ticks (at most those before it was suspended)"


async def _all_ticked(worker: Worker, sessions: list[str], count: int) -> bool:
    bodies = [request("GET", f"{worker.url}/sessions/{s}").body for s in sessions]
    return all(b["status"] != "active" or (b.get("feed") or {}).get("ticks", 0) >= count for b in bodies)


async def _all_owned_by(worker: Worker, sessions: list[str]) -> bool:
    try:
        return all(owns(worker, s) for s in sessions) and request("GET", f"{worker.url}/sessions").status == 200
    except (KeyError, OSError):
        return False


async def _ticked_since(worker: Worker, counts: dict[str, int], more: int) -> dict[str, str] | None:
    feeds = {s: request("GET", f"{worker.url}/sessions/{s}").body["feed"] for s in counts}
    if all(feeds[s]["ticks"] >= counts[s] + more for s in counts):
        return {s: feeds[s]["last_tick_at"] for s in counts}
    return None


async def test_a_modification_applies_from_the_next_candle(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    """At 60x a candle closes every second, longer than a modification takes to reach the strategies."""
    rows = json.loads(DATA.read_text())[:1500]
    worker = workers(extra_env={**replay_env(tmp_path, rows, "x60"), "R3EDGE_COLLECT_LOOKBACK": "30"})
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    old, new = {"fast": 2, "slow": 5}, {"fast": 3, "slow": 7}  # frequent crossings: a short test
    assert request("POST", f"{worker.url}/sessions", {"session_id": "m", **spec("sma_cross", old)}).status == 201
    start_session(worker.url, "m")

    async def sent() -> list[dict[str, Any]]:
        return [
            r
            for r in await values(kafka, f"{topic_prefix}.sessionsrequest")
            if r["session_id"] == "m" and r["kind"] == "signal"
        ]

    async def signalled(count: int) -> list[dict[str, Any]] | Pending:
        found = await sent()
        return found if len(found) >= count else Pending(f"{len(found)} of {count} signals for the session")

    await wait_for_async(lambda: signalled(4), 90, interval=1, what="signals of the first spec")
    seen_before = _price_time(worker)  # the newest candle the session had when the trader modified it
    modified = request("PATCH", f"{worker.url}/sessions/m", {"parameters": new})
    assert modified.status == 200 and modified.body["spec_version"] == 2
    seen_after = _price_time(worker)
    before = len(await sent())
    received = await wait_for_async(lambda: signalled(before + 4), 90, interval=1, what="signals of the new spec")
    old_id, new_id = instance_id("sma_cross", old), instance_id("sma_cross", new)
    sources = [r["signal"]["strategy_id"] for r in received]
    switch = sources.index(new_id)
    assert set(sources[switch:]) == {new_id}, "never back to the old spec"
    closes = [_moment(r["signal"]["candle_time"]) + 60 for r in received]  # 1m candles: open + 60 s
    assert all(c > seen_before for c in closes[switch:]), "the new spec decides no candle from before the change"
    in_flight = seen_after + 60  # the candle closing while the change travels may still reach the old spec
    assert all(c <= in_flight for c, s in zip(closes, sources, strict=True) if s == old_id), (
        "the old spec stops at the change"
    )
    wanted_new = {_moment(t) + 60 for t in expected_signals(rows, "sma_cross", new)}
    wanted_old = {_moment(t) + 60 for t in expected_signals(rows, "sma_cross", old)}
    assert {c for c, s in zip(closes, sources, strict=True) if s == old_id} <= wanted_old
    assert set(closes[switch:]) <= wanted_new
    assert {c for c in wanted_new if in_flight < c <= closes[-1]} <= set(closes[switch:]), "from the next candle on"

    last = received[-1]["signal"]

    async def fed() -> dict[str, Any] | Pending:
        # the replay goes on: the feed may be past ``last`` by the time it is read (waiting for exactly
        # ``last`` raced the next signal), but it takes signals in candle order and never goes back
        feed: dict[str, Any] = request("GET", f"{worker.url}/sessions/m").body["feed"]
        taken = feed["last_signal"]
        reached = taken is not None and _moment(taken["candle_time"]) >= _moment(last["candle_time"])
        return feed if reached else Pending(f"the feed's last signal is {taken and taken['signal_id']}")

    feed = await wait_for_async(fed, 30, what=f"the session's feed to take {last['signal_id']}")
    assert feed["last_signal"]["strategy_id"] == new_id
    if feed["last_signal"]["candle_time"] == last["candle_time"]:
        assert feed["last_signal"]["signal_id"] == last["signal_id"]
    taken_ids = {r["signal"]["signal_id"] for r in await sent()}
    assert feed["last_signal"]["signal_id"] in taken_ids, "the feed's last signal is one sent to the session"


def _price_time(worker: Worker) -> float:
    feed = request("GET", f"{worker.url}/sessions/m").body["feed"]
    return _moment(feed["last_price_at"])


def _moment(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
