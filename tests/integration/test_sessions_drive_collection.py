"""Sessions started and stopped over HTTP drive data collection: one collection per market."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from r3edge_streams.localkafka import LocalKafka
from tests.integration.test_datacollect_replay import values
from tests.kit.http import request, wait_for, wait_for_async
from tests.kit.workers import Worker

DATA = Path(__file__).resolve().parents[1] / "data"
SPEC: dict[str, Any] = {
    "strategy": "sma_cross",
    "parameters": {"fast": 5, "slow": 20},
    "exchange": "replay",
    "symbol": "UNITTEST/BTC",
    "timeframe": "1m",
    "mode": "backtest",
    "refresh_seconds": 5,
}


def post(worker: Worker, path: str, body: Any = None) -> dict[str, Any]:
    reply = request("POST", f"{worker.url}{path}", body if body is not None else {})
    assert reply.status in (200, 201), reply
    result: dict[str, Any] = reply.body
    return result


def status_of(worker: Worker, session_id: str) -> str:
    reply = request("GET", f"{worker.url}/sessions/{session_id}")
    return str(reply.body.get("status")) if reply.status == 200 else "missing"


def workload(worker: Worker) -> dict[str, Any] | None:
    items = request("GET", f"{worker.url}/workloads").body["items"]
    return items[0] if items else None


async def test_sessions_on_one_market_share_one_collection_until_the_last_stops(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers(
        extra_env={
            "R3EDGE_REPLAY_DIR": str(DATA),
            "R3EDGE_REPLAY_SPEED": "x120",
            "R3EDGE_COLLECT_INTERVAL": "0.3",
            "R3EDGE_COLLECT_LOOKBACK": "5",
        }
    )
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    ids = ["s-a", "s-b", "s-c"]
    specs = [SPEC, SPEC, {**SPEC, "parameters": {"fast": 8, "slow": 21}}]  # two strategy instances
    for session_id, spec in zip(ids, specs, strict=True):
        post(worker, "/sessions", {"session_id": session_id, **spec})
    await asyncio.to_thread(
        wait_for, lambda: all(status_of(worker, s) == "created" for s in ids), 30, what="the three sessions created"
    )
    for session_id in ids:
        post(worker, f"/sessions/{session_id}/start")

    def all_three_collected() -> dict[str, Any] | None:
        item = workload(worker)
        return item if item and item["sessions"] == ids and item["published"] >= 10 else None

    item = await asyncio.to_thread(wait_for, all_three_collected, 60, what="one collection for the three sessions")
    assert item["market"] == "replay:UNITTEST/BTC:1m" and len(item["holders"]) == 2
    instances = request("GET", f"{worker.url}/strategies").body["items"]
    assert sorted(i["sessions"] for i in instances) == [["s-a", "s-b"], ["s-c"]]
    assert {i["market"] for i in instances} == {"replay:UNITTEST/BTC:1m"} and all(i["active"] for i in instances)
    assert sorted(item["holders"]) == sorted(i["strategy_id"] for i in instances)

    for session_id in ids[:2]:
        post(worker, f"/sessions/{session_id}/stop")
    await asyncio.to_thread(
        wait_for, lambda: (workload(worker) or {}).get("sessions") == ["s-c"], 30, what="s-c alone on the workload"
    )
    before = item["published"]
    await asyncio.to_thread(
        wait_for,
        lambda: (workload(worker) or {}).get("published", 0) > before + 3,
        30,
        what="collection to go on for s-c",
    )

    post(worker, "/sessions/s-c/stop")
    await asyncio.to_thread(
        wait_for, lambda: (workload(worker) or {}).get("active") is False, 30, what="the workload to become inactive"
    )
    assert request("GET", f"{worker.url}/strategies?active=true").body["items"] == []
    assert [status_of(worker, s) for s in ids] == ["stopped"] * 3
    stopped_at = len(await values(kafka, f"{topic_prefix}.marketdata"))
    await asyncio.sleep(3)  # an observation window, deliberately fixed: ten collector rounds, none may publish now
    candles = await values(kafka, f"{topic_prefix}.marketdata")
    assert len(candles) == stopped_at
    opens = [c["open_time"] for c in candles]
    assert opens == sorted(set(opens)), "one collection for three sessions: each candle once"


async def test_start_and_stop_of_unknown_sessions_and_actions_get_json_errors(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers()
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    missing = request("POST", f"{worker.url}/sessions/nobody/start", {})
    assert missing.status == 404 and missing.body["field"] == "session_id"
    post(worker, "/sessions", {"session_id": "known", **SPEC})
    await asyncio.to_thread(wait_for, lambda: status_of(worker, "known") == "created", 30, what="the session created")
    bad = request("POST", f"{worker.url}/sessions/known/explode", {})
    assert bad.status == 404 and bad.body["field"] == "action"
    post(worker, "/sessions/known/stop")
    await asyncio.to_thread(wait_for, lambda: status_of(worker, "known") == "stopped", 30, what="the session stopped")
    refused = request("POST", f"{worker.url}/sessions/known/start")  # stopped is final: refused at once
    assert refused.status == 409 and refused.body == {
        "error": "cannot start a session that is stopped: a stopped session is final; create a new one",
        "field": "status",
    }

    async def notices() -> list[dict[str, Any]]:  # the session manager's (the tracker reports its wind-down too)
        return [n for n in await values(kafka, f"{topic_prefix}.notifications") if n["category"] == "session.stopped"]

    [notice] = await wait_for_async(notices, 30, what="the stop notice")
    assert (notice["session_id"], notice["category"], notice["body"]) == (
        "known",
        "session.stopped",
        "as the trader asked",
    )
    assert status_of(worker, "known") == "stopped"
