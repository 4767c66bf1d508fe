"""The session lifecycle over HTTP on real workers: every transition and refusal, access control,
filters and paging, exchange accounts by reference, tracking ticks, auto-stop."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import encode_key
from tests.integration.test_datacollect_replay import values
from tests.kit.http import READ_TOKEN, TRADER_TOKEN, Pending, Reply, request, wait_for, wait_for_async
from tests.kit.kafka import produce, sealed
from tests.kit.workers import Worker, settle_async

SPEC: dict[str, Any] = {
    "strategy": "sma_cross",
    "parameters": {"fast": 5, "slow": 20},
    "exchange": "binance",
    "symbol": "BTC/USDT",
    "timeframe": "1m",
    "mode": "paper",
    "refresh_seconds": 1,
}
SECRET = "sEcReT-4f9d2c71-never-shown"
API_KEY = "KEY-7f3e19a2-never-shown"


@pytest.fixture(scope="module")
def live_worker(kafka: LocalKafka, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    """One worker of a live deployment with one exchange account, for the whole module."""
    folder = tmp_path_factory.mktemp("live")
    accounts = folder / "accounts.json"
    accounts.write_text(json.dumps({"main": {"exchange": "binance", "api_key": API_KEY, "secret": SECRET}}))
    os.chmod(accounts, 0o600)
    worker = Worker(
        kafka.broker_url,
        folder,
        f"l{uuid.uuid4().hex[:10]}",
        extra_env={"R3EDGE_TRADING_MODE": "live", "R3EDGE_ACCOUNTS_FILE": str(accounts)},
    )
    worker.start().wait_ready()
    yield worker
    worker.stop()


def call(worker: Worker, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
    return request(method, f"{worker.url}{path}", body, **kwargs)


def make(worker: Worker, session_id: str, **changes: Any) -> dict[str, Any]:
    reply = call(worker, "POST", "/sessions", {"session_id": session_id, **SPEC, **changes})
    assert reply.status == 201, reply
    body: dict[str, Any] = reply.body
    return body


def act(worker: Worker, session_id: str, action: str, body: Any = None) -> Reply:
    return call(worker, "POST", f"/sessions/{session_id}/{action}", body)


def test_every_transition_and_every_refusal_over_http(live_worker: Worker) -> None:
    w = live_worker
    created = make(w, "life")
    assert (created["status"], created["version"], created["changed"]) == ("created", 1, True)
    assert act(w, "life", "recover").body == {
        "error": "cannot recover a session that is created: start it instead",
        "field": "status",
    }
    assert act(w, "life", "suspend").status == 409
    started = act(w, "life", "start")
    assert started.status == 200 and started.body["status"] == "active" and started.body["started_at"]
    again = act(w, "life", "start")
    assert again.status == 200 and again.body["changed"] is False and again.body["version"] == started.body["version"]
    assert act(w, "life", "suspend").body["status"] == "suspended"
    refused = act(w, "life", "start")
    assert refused.status == 409 and "recover it instead" in refused.body["error"]
    recovered = act(w, "life", "recover")
    assert recovered.body["status"] == "active" and recovered.body["started_at"] == started.body["started_at"]
    assert call(w, "DELETE", "/sessions/life").status == 409  # running: stop it first
    stopped = act(w, "life", "stop", {"keep_positions": True})
    assert stopped.status == 200 and (stopped.body["status"], stopped.body["keep_positions"]) == ("stopped", True)
    for action in ("start", "suspend", "recover"):
        reply = act(w, "life", action)
        assert reply.status == 409 and reply.body["field"] == "status", action
    assert act(w, "life", "stop").body["changed"] is False
    assert call(w, "PATCH", "/sessions/life", {"refresh_seconds": 9}).status == 409
    assert call(w, "DELETE", "/sessions/life").body == {"session_id": "life", "deleted": True}
    assert call(w, "GET", "/sessions/life").status == 404
    assert call(w, "DELETE", "/sessions/life").status == 404


def test_modify_is_versioned_and_guarded(live_worker: Worker) -> None:
    w = live_worker
    make(w, "mod")
    assert act(w, "mod", "start").status == 200
    changed = call(w, "PATCH", "/sessions/mod", {"parameters": {"fast": 8, "slow": 21}, "refresh_seconds": 2})
    assert changed.status == 200 and changed.body["spec_version"] == 2
    assert (
        changed.body["spec"]["parameters"] == {"fast": 8, "slow": 21} and changed.body["spec"]["symbol"] == "BTC/USDT"
    )
    same = call(w, "PATCH", "/sessions/mod", {"refresh_seconds": 2})
    assert same.status == 200 and same.body["changed"] is False and same.body["spec_version"] == 2
    assert call(w, "PATCH", "/sessions/mod", {"mode": "backtest"}).body["field"] == "mode"  # 409 while running
    bad = call(w, "PATCH", "/sessions/mod", {"timeframe": "7m"})
    assert bad.status == 422 and bad.body["field"] == "timeframe"
    assert call(w, "PATCH", "/sessions/mod", {"colour": "red"}).body == {"error": "unknown field", "field": "colour"}
    stale = call(w, "PATCH", "/sessions/mod", {"refresh_seconds": 3, "expected_version": 1})
    assert stale.status == 409 and stale.body["field"] == "expected_version"
    current = call(w, "GET", "/sessions/mod").body["version"]
    fresh = act(w, "mod", "suspend", {"expected_version": current})
    assert fresh.status == 200 and fresh.body["status"] == "suspended"
    assert act(w, "mod", "stop", {"keep_positions": "yes"}).body["field"] == "keep_positions"
    assert act(w, "mod", "suspend", {"keep_positions": True}).status == 400
    assert call(w, "PATCH", "/sessions/nobody", {"refresh_seconds": 2}).status == 404


async def test_a_failure_reported_by_the_engine_can_be_recovered(live_worker: Worker, kafka: LocalKafka) -> None:
    w = live_worker
    make(w, "fragile")
    act(w, "fragile", "start")
    fail = {
        "command_id": "fail:fragile:1",
        "session_id": "fragile",
        "kind": "fail",
        "issued_at": datetime.now(timezone.utc).isoformat(),
        "reason": "exchange rejected the order",
    }
    await produce(
        kafka.bootstrap, f"{w.topic_prefix}.sessioncommands", [(encode_key("fragile"), json.dumps(fail).encode())]
    )
    state = await wait_for_async(lambda: _status(w, "fragile", "failed"), 30, what="the failure")
    assert state["reason"] == "exchange rejected the order"
    assert act(w, "fragile", "start").status == 409
    assert act(w, "fragile", "recover").body["status"] == "active"
    notices = [n for n in await values(kafka, f"{w.topic_prefix}.notifications") if n.get("session_id") == "fragile"]
    assert [(n["category"], n["severity"], n["body"]) for n in notices][:1] == [
        ("session.failed", "critical", "exchange rejected the order")
    ]
    # then the tracker's report of what became of its position (it held none)
    assert [(n["category"], n["title"]) for n in notices[1:]] == [
        ("session.wound_down.flat", "session fragile: nothing was open")
    ]


async def _status(worker: Worker, session_id: str, status: str) -> dict[str, Any] | None:
    body: dict[str, Any] = call(worker, "GET", f"/sessions/{session_id}").body
    return body if body.get("status") == status else None


def test_tokens_and_scopes(live_worker: Worker) -> None:
    w = live_worker
    make(w, "guarded")
    anonymous = call(w, "GET", "/sessions", token=None)
    assert anonymous.status == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert call(w, "GET", "/sessions", token="not-a-known-token-at-all").status == 401
    assert call(w, "GET", "/sessions/guarded", token=READ_TOKEN).status == 200
    assert call(w, "GET", "/strategies", token=READ_TOKEN).status == 200
    for method, path in (
        ("POST", "/sessions/guarded/start"),
        ("PATCH", "/sessions/guarded"),
        ("DELETE", "/sessions/guarded"),
        ("POST", "/sessions"),
        ("POST", "/strategies/x/reset"),
    ):
        body = (
            {"refresh_seconds": 3}
            if method == "PATCH"
            else ({"session_id": "x", **SPEC} if path == "/sessions" else None)
        )
        reply = call(w, method, path, body, token=READ_TOKEN)
        assert reply.status == 403 and "trader" in reply.body["error"], (method, path)
        assert call(w, method, path, body, token=None).status == 401
    assert call(w, "GET", "/sessions/guarded").body["status"] == "created"  # nothing changed
    assert call(w, "GET", "/health", token=None).status == 200
    log = w.log_text()
    assert TRADER_TOKEN not in log and READ_TOKEN not in log


def test_exchange_accounts_are_references_and_secrets_never_leave(live_worker: Worker) -> None:
    w = live_worker
    live = make(w, "real", mode="live", account="main")
    assert live["spec"]["account"] == "main"
    missing = call(w, "POST", "/sessions", {"session_id": "r2", **SPEC, "mode": "live"})
    assert missing.status == 422 and missing.body["field"] == "account"
    unknown = call(w, "POST", "/sessions", {"session_id": "r3", **SPEC, "mode": "live", "account": "other"})
    assert unknown.status == 422 and unknown.body["field"] == "account"
    wrong = call(w, "POST", "/sessions", {"session_id": "r4", **SPEC, "exchange": "kraken", "account": "main"})
    assert wrong.status == 422 and "for binance" in wrong.body["error"]
    act(w, "real", "start")
    answers = [call(w, "GET", path).body for path in ("/sessions", "/sessions/real", "/strategies", "/workloads")]
    text = json.dumps(answers) + w.log_text()
    assert SECRET not in text and API_KEY not in text


def test_listing_filters_and_pages(live_worker: Worker) -> None:
    w = live_worker
    for n in range(7):
        make(w, f"page{n}", symbol="ETH/USDT" if n % 2 else "SOL/USDT", timeframe="5m")
        if n < 3:
            act(w, f"page{n}", "start")
    everything = call(w, "GET", "/sessions?timeframe=5m").body
    assert everything["total"] == 7 and everything["next_offset"] is None
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = call(w, "GET", f"/sessions?timeframe=5m&limit=3&offset={offset}").body
        assert page["count"] == len(page["items"]) <= 3 and page["total"] == 7
        seen += [item["session_id"] for item in page["items"]]
        offset = page["next_offset"]
    assert seen == [item["session_id"] for item in everything["items"]] and len(set(seen)) == 7
    active_eth = call(w, "GET", "/sessions?timeframe=5m&status=active&symbol=ETH/USDT").body["items"]
    assert [item["session_id"] for item in active_eth] == ["page1"]
    for query, field in (
        ("status=sleeping", "status"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
    ):
        reply = call(w, "GET", f"/sessions?{query}")
        assert reply.status == 400 and reply.body["field"] == field, query


async def test_ticks_follow_the_refresh_rate_and_stop_while_suspended(live_worker: Worker, kafka: LocalKafka) -> None:
    w = live_worker
    make(w, "ticking")
    act(w, "ticking", "start")
    feed = await wait_for_async(lambda: _ticks_at_least(w, "ticking", 4), 20, what="four ticks")
    act(w, "ticking", "suspend")
    await settle_async(1.5)  # a scheduler round that read the session before the suspend may still send one tick
    held = (
        await wait_for_async(
            lambda: _took_every_tick_sent(w, kafka, "ticking"),
            20,
            what="the feed to take the ticks sent before the suspend",
        )
    )["ticks"]
    await asyncio.sleep(3)  # an observation window, deliberately fixed: three refresh slots in which no tick may come
    assert (await _ticks_at_least(w, "ticking", 0) or {})["ticks"] == held, "no tick while suspended"
    act(w, "ticking", "recover")
    await wait_for_async(lambda: _ticks_at_least(w, "ticking", held + 2), 20, what="ticks after recover")
    ticks = [
        r
        for r in await values(kafka, f"{w.topic_prefix}.sessionsrequest")
        if r["session_id"] == "ticking" and r["kind"] == "tick"
    ]
    times = [datetime.fromisoformat(t["at"].replace("Z", "+00:00")) for t in ticks]
    assert all(t.microsecond == 0 for t in times) and len(set(times)) == len(times), "one tick per 1 s slot"
    assert feed["last_tick_at"]


async def _took_every_tick_sent(worker: Worker, kafka: LocalKafka, session_id: str) -> dict[str, Any] | Pending:
    """The session's feed once it has taken every tick on the topic (one per slot), none in flight."""
    slots = {
        r["at"]
        for r in await values(kafka, f"{worker.topic_prefix}.sessionsrequest")
        if r["session_id"] == session_id and r["kind"] == "tick"
    }
    feed = await _ticks_at_least(worker, session_id, 0)
    taken = feed["ticks"] if feed else 0
    return feed if feed and taken >= len(slots) else Pending(f"{len(slots)} ticks on the topic, {taken} in the feed")


async def _ticks_at_least(worker: Worker, session_id: str, count: int) -> dict[str, Any] | None:
    feed: dict[str, Any] | None = call(worker, "GET", f"/sessions/{session_id}").body.get("feed")
    return feed if feed is not None and feed["ticks"] >= count else None


async def test_auto_stop_for_each_condition(live_worker: Worker, kafka: LocalKafka) -> None:
    w = live_worker
    make(w, "timed", auto_stop={"max_duration_seconds": 3})
    make(w, "losing", auto_stop={"loss_limit": "100"})
    make(w, "winning", auto_stop={"gain_target": "250.5"})
    for session_id in ("timed", "losing", "winning"):
        assert act(w, session_id, "start").status == 200
    now = datetime.now(timezone.utc).isoformat()

    def position(session_id: str, realized: str) -> tuple[bytes, bytes]:
        value = {
            "session_id": session_id,
            "exchange": "binance",
            "symbol": "BTC/USDT",
            "quantity": "0",
            "average_entry_price": "100",
            "realized_pnl": realized,
            "updated_at": now,
        }
        return encode_key(session_id), json.dumps(value).encode()

    made = [position("losing", "-99.99"), position("winning", "250.49")]
    await produce(kafka.bootstrap, f"{w.topic_prefix}.positions", made, sealed("positions", made))
    await settle_async(3)  # positions are not served over HTTP: give the positions agent time to keep them
    ticked = {s: (await _ticks_at_least(w, s, 0) or {}).get("ticks", 0) for s in ("losing", "winning")}
    await wait_for_async(
        lambda: _active_and_ticked_past(w, ticked), 20, what="a tick (an auto-stop check) after the positions"
    )
    assert all(call(w, "GET", f"/sessions/{s}").body["status"] == "active" for s in ("losing", "winning"))
    made = [position("losing", "-100.00"), position("winning", "250.50")]
    await produce(kafka.bootstrap, f"{w.topic_prefix}.positions", made, sealed("positions", made))
    reasons = {}
    for session_id, words in (
        ("timed", "duration of 3 s"),
        ("losing", "loss limit 100"),
        ("winning", "gain target 250.5"),
    ):
        state = await wait_for_async(lambda: _status(w, session_id, "stopped"), 20, what=f"{session_id} auto-stopped")
        assert words in state["reason"], state
        reasons[session_id] = state["reason"]
    started = datetime.fromisoformat(call(w, "GET", "/sessions/timed").body["started_at"].replace("Z", "+00:00"))
    stopped = datetime.fromisoformat(call(w, "GET", "/sessions/timed").body["updated_at"].replace("Z", "+00:00"))
    assert 3 <= (stopped - started).total_seconds() < 6
    notices = {
        n["session_id"]: n
        for n in await values(kafka, f"{w.topic_prefix}.notifications")
        if n["category"] == "session.stopped"
    }
    for session_id, reason in reasons.items():
        assert notices[session_id]["body"] == reason and notices[session_id]["severity"] == "warning"


async def _active_and_ticked_past(worker: Worker, counts: dict[str, int]) -> bool:
    """Each session took a tick beyond ``counts``; one that is not active any more is a wrong result, at once."""
    bodies = {s: call(worker, "GET", f"/sessions/{s}").body for s in counts}
    assert all(b["status"] == "active" for b in bodies.values()), {s: b["status"] for s, b in bodies.items()}
    return all((b.get("feed") or {}).get("ticks", 0) > counts[s] for s, b in bodies.items())


def test_the_worker_survived_everything(live_worker: Worker) -> None:
    assert live_worker.process is not None and live_worker.process.poll() is None
    wait_for(lambda: call(live_worker, "GET", "/health").status == 200, 5, what="the worker's health")
