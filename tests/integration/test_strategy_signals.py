"""StrategyExecutor on the real broker: many sessions on three instances of one replayed market
get exactly their instance's signals, each once; the signals equal an independent computation."""

from __future__ import annotations

import asyncio
import json
import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from r3edge_streams.domain.sessions import strategy_instance_id
from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import SessionMode, SessionSpec
from tests.integration.test_datacollect_replay import values
from tests.kit.http import Pending, request, wait_for, wait_for_async
from tests.kit.reference import expected_signals
from tests.kit.workers import Worker

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
#: candles replayed to the 200 sessions: 400 in the suite (80,000 price updates through one worker's
#: tracker; about 2 minutes with one of a 2-core machine's cores kept busy by stress-ng), the whole
#: 1,500 with TEST_FULL=1 (300,000; ~10 minutes on a 2-core machine)
COUNT = 1500 if os.environ.get("TEST_FULL") == "1" else 400
INSTANCES = [
    ("sma_cross", {"fast": 5, "slow": 20}),
    ("sma_cross", {"fast": 8, "slow": 21}),
    ("bollinger_breakout", {"period": 20, "width": 2}),
]


def spec(strategy: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "strategy": strategy,
        "parameters": parameters,
        "exchange": "replay",
        "symbol": "UNITTEST/BTC",
        "timeframe": "1m",
        "mode": "backtest",
        "refresh_seconds": 60,
    }


def instance_id(strategy: str, parameters: dict[str, Any]) -> str:
    return strategy_instance_id(SessionSpec(**{**spec(strategy, parameters), "mode": SessionMode.BACKTEST}))


def signal_progress(signals: list[dict[str, Any]], expected: dict[str, dict[str, str]]) -> str:
    """Per instance: its signals on the topic, of those expected, and the newest candle signalled."""
    parts = []
    for sid, wanted in expected.items():
        times = [s["candle_time"].replace("Z", "+00:00") for s in signals if s["strategy_id"] == sid]
        parts.append(f"{sid}: {len(times)} of {len(wanted)}, newest {max(times, default='none')} of {max(wanted)}")
    return "; ".join(parts)


async def test_sessions_get_exactly_their_instance_signals_once(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    rows = json.loads(DATA.read_text())[:COUNT]
    (tmp_path / "replay").mkdir()
    (tmp_path / "replay" / "UNITTEST_BTC-1m.json").write_text(json.dumps(rows))
    worker = workers(
        extra_env={
            "R3EDGE_REPLAY_DIR": str(tmp_path / "replay"),
            "R3EDGE_REPLAY_SPEED": "max",
            "R3EDGE_COLLECT_INTERVAL": "0.5",
            "R3EDGE_COLLECT_LOOKBACK": "5000",
        }
    )
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    followers: dict[str, list[str]] = defaultdict(list)
    for n in range(200):
        strategy, parameters = INSTANCES[n % 3]
        session_id = f"s{n:03d}"
        followers[instance_id(strategy, parameters)].append(session_id)
        assert (
            request("POST", f"{worker.url}/sessions", {"session_id": session_id, **spec(strategy, parameters)}).status
            == 201
        )
    await asyncio.to_thread(
        wait_for, lambda: request("GET", f"{worker.url}/sessions").body["total"] == 200, 60, what="200 sessions listed"
    )
    with ThreadPoolExecutor(max_workers=25) as pool:  # all start within moments, while the replay flows
        starts = list(pool.map(lambda n: request("POST", f"{worker.url}/sessions/s{n:03d}/start"), range(200)))
    assert all(reply.status in (200, 202) for reply in starts)  # 202: the worker is busy, the start follows

    async def collected() -> bool | Pending:
        items = request("GET", f"{worker.url}/workloads").body["items"]
        published = items[0]["published"] if items else 0
        return bool(items) and published >= COUNT or Pending(f"{published} of {COUNT} candles published")

    await wait_for_async(collected, 120, interval=1, what="the replay to be published")
    expected = {instance_id(s, p): expected_signals(rows, s, p) for s, p in INSTANCES}

    async def all_signals() -> list[dict[str, Any]] | Pending:
        signals = await values(kafka, f"{topic_prefix}.signals")
        last = {sid: max(e) for sid, e in expected.items()}
        seen = {(s["strategy_id"], s["candle_time"].replace("Z", "+00:00")) for s in signals}
        done = all((sid, t) in seen for sid, t in last.items())
        return signals if done else Pending(signal_progress(signals, expected))

    signals = await wait_for_async(all_signals, 300, interval=2, what="each instance's last signal")
    by_instance: dict[str, dict[str, str]] = defaultdict(dict)
    for signal in signals:
        moment = signal["candle_time"].replace("Z", "+00:00")
        assert moment not in by_instance[signal["strategy_id"]], "one signal per instance and candle"
        by_instance[signal["strategy_id"]][moment] = signal["direction"]
    for sid, wanted in expected.items():
        got = by_instance[sid]
        first = min(got)  # an instance activated mid-stream starts deciding from its first candle
        assert got == {t: d for t, d in wanted.items() if t >= first}, sid
        assert len(got) > 20

    everything = await values(kafka, f"{topic_prefix}.sessionsrequest")  # partition order: each session's order
    check_prices_then_signals(everything, rows)
    requests = [r for r in everything if r["kind"] == "signal"]
    assert len({r["request_id"] for r in requests}) == len(requests), "each session gets each signal once"
    per_session: dict[str, list[str]] = defaultdict(list)
    for r in requests:
        per_session[r["session_id"]].append(r["signal"]["signal_id"])
    order = await activation_order(kafka, topic_prefix)
    for sid, sessions in followers.items():
        instance_signals = [f"{sid}:{t}" for t in sorted(by_instance[sid])]
        for session in sessions:
            got = per_session[session]
            assert got == instance_signals[len(instance_signals) - len(got) :], session  # a suffix, in order
        # followers join in the order their follow commands were applied (one partition per
        # instance), and each decision fans out to the followers of that moment: a session that
        # followed earlier has every signal a later one has; the first has all of them (it
        # activated the instance). At full speed a start may come after the last decision: an
        # empty suffix is then right, and only the order can be asked of it.
        joined = order[sid]
        assert sorted(joined) == sorted(sessions), sid
        assert per_session[joined[0]] == instance_signals, f"{sid}: its first follower {joined[0]}"
        lengths = [len(per_session[session]) for session in joined]
        assert lengths == sorted(lengths, reverse=True), f"{sid}: signals per follower in join order {lengths}"


def check_prices_then_signals(requests: list[dict[str, Any]], rows: list[list[Any]]) -> None:
    """Each session takes its market's candles once each, in order, from the one after its start
    on, whole (the data file's prices), and each signal right after the price of its own candle."""
    opens = [datetime.fromtimestamp(int(r[0]) / 1000, tz=timezone.utc).isoformat() for r in rows]
    closes = {opens[i]: str(rows[i][4]) for i in range(len(rows))}
    by_session: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for r in requests:
        if r["kind"] == "price":
            by_session[r["session_id"]].append(("price", r["candle"]["open_time"].replace("Z", "+00:00")))
            assert r["price"] == closes[by_session[r["session_id"]][-1][1]] == r["candle"]["close"]
        elif r["kind"] == "signal":
            by_session[r["session_id"]].append(("signal", r["signal"]["candle_time"].replace("Z", "+00:00")))
    for session, seen in by_session.items():
        prices = [t for kind, t in seen if kind == "price"]
        assert prices and prices == opens[opens.index(prices[0]) : opens.index(prices[0]) + len(prices)], session
        for n, (kind, moment) in enumerate(seen):
            if kind == "signal":  # its candle's price came just before it: the range, then the close's decision
                assert n > 0 and seen[n - 1] == ("price", moment), (session, moment)


async def activation_order(kafka: LocalKafka, prefix: str) -> dict[str, list[str]]:
    """Per instance, its sessions in the order their first follow command sits in its partition."""
    order: dict[str, list[str]] = defaultdict(list)
    for command in await values(kafka, f"{prefix}.strategycommands"):
        session = command.get("session_id")
        if command["action"] == "follow" and session and session not in order[command["strategy_id"]]:
            order[command["strategy_id"]].append(session)
    return order
