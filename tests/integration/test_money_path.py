"""The money path on the real broker with a real worker: a paper session replaying real candles
trades, and every price, fee and sum is checked against the data file and a computation here."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import encode_key
from tests.integration.test_datacollect_replay import values
from tests.kit.http import Pending, request, wait_for_async
from tests.kit.kafka import produce, read_all, seal_headers
from tests.kit.reference import expected_signals
from tests.kit.workers import Worker, settle_async

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
COUNT = 1500  # at 600x real time: 150 s of replay, the trades of the first minutes checked
SPEED = "x600"
FEE_BPS = Decimal("7.5")
CAPITAL = Decimal("10000")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def spec(**risk: Any) -> dict[str, Any]:
    return {
        "strategy": "sma_cross",
        "parameters": {"fast": 5, "slow": 20},
        "exchange": "replay",
        "symbol": "UNITTEST/BTC",
        "timeframe": "1m",
        "mode": "paper",
        "refresh_seconds": 60,
        "risk": {"capital": str(CAPITAL), "position_fraction": "0.2", **risk},
        "fills": {"fee_bps": str(FEE_BPS), "slippage_bps": "0"},
    }


def replay_worker(workers: Callable[..., Worker], tmp_path: Path, rows: list[list[Any]]) -> Worker:
    (tmp_path / "replay").mkdir()
    (tmp_path / "replay" / "UNITTEST_BTC-1m.json").write_text(json.dumps(rows))
    return workers(
        extra_env={
            "R3EDGE_REPLAY_DIR": str(tmp_path / "replay"),
            "R3EDGE_REPLAY_SPEED": SPEED,
            "R3EDGE_COLLECT_INTERVAL": "0.5",
            "R3EDGE_COLLECT_LOOKBACK": "5000",
        }
    )


async def pipeline(kafka: LocalKafka, prefix: str, seen: Any) -> str:
    """How far the money path got: counts on each of its topics, the dead letters' reasons."""
    counts = {}
    for topic in ("signals", "sessionsrequest", "raworders", "accountorders", "orders", "venueevents", "executions"):
        counts[topic] = len(await values(kafka, f"{prefix}.{topic}"))
    dead = [d.get("reason") for d in await values(kafka, f"{prefix}.deadletters")][:5]
    return f"{seen}; topics {counts}; dead letters {dead}"


def expected_round_trips(rows: list[list[Any]], first_signal: str) -> list[tuple[str, str]]:
    """(entry candle, exit candle) open times: long on LONG when flat, out on SHORT, from the
    session's first signal on; each fill at the candle after its signal's candle."""
    signals = expected_signals(rows, "sma_cross", {"fast": 5, "slow": 20})
    opens = [iso(int(r[0])) for r in rows]
    following = {opens[i]: opens[i + 1] for i in range(len(opens) - 1)}
    trips, entry = [], None
    for moment, direction in signals.items():
        at = moment.replace("+00:00", "Z")
        if at < first_signal or at not in following:
            continue
        if direction == "LONG" and entry is None:
            entry = following[at]
        elif direction == "SHORT" and entry is not None:
            trips.append((entry, following[at]))
            entry = None
    return trips


async def check_trades(kafka: LocalKafka, prefix: str, session_id: str, rows: list[list[Any]],
                       items: list[dict[str, Any]]) -> None:  # fmt: skip
    """Each round trip as the data file and the signals' semantics say: entered and left at the
    open of the candle after the signal's (a stop's exit too), fees and net PnL as configured."""
    opens = {iso(int(r[0])): Decimal(str(r[1])) for r in rows}
    requests = [r for r in await values(kafka, f"{prefix}.sessionsrequest") if r["kind"] == "signal"]
    first = min(r["signal"]["candle_time"] for r in requests if r["session_id"] == session_id)
    wanted = expected_round_trips(rows, first)
    signalled = [t for t in items if t["exit_reason"] == "exit"]
    assert signalled == items[: len(signalled)], "only the last round trip may end otherwise (the stop)"
    assert [(t["entry_time"], t["exit_time"]) for t in signalled] == wanted[: len(signalled)]
    for trade in items:
        quantity = Decimal(trade["quantity"])
        entry, exit_ = Decimal(trade["entry_price"]), Decimal(trade["exit_price"])
        assert entry == opens[trade["entry_time"]], trade  # the open of the candle after the signal
        assert exit_ == opens[trade["exit_time"]], trade  # a signal's exit, or the stop's: the next open
        fees = (quantity * entry + quantity * exit_) * FEE_BPS / 10_000
        assert abs(Decimal(trade["fees"]) - fees) <= Decimal("1e-8"), trade
        assert abs(Decimal(trade["pnl"]) - ((exit_ - entry) * quantity - fees)) <= Decimal("1e-8"), trade


async def test_a_paper_session_trades_at_the_next_candles_open_with_its_fees(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    rows = json.loads(DATA.read_text())[:COUNT]
    worker = replay_worker(workers, tmp_path, rows)
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    assert request("POST", f"{worker.url}/sessions", {"session_id": "p1", **spec()}).status == 201
    assert request("POST", f"{worker.url}/sessions/p1/start").status in (200, 202)

    async def trades() -> list[dict[str, Any]] | Pending:
        reply = request("GET", f"{worker.url}/sessions/p1/trades")
        done = reply.status == 200 and len(reply.body["items"]) >= 3
        return reply.body["items"] if done else Pending(await pipeline(kafka, topic_prefix, reply.body))

    await wait_for_async(trades, 240, interval=2, what="three round trips")
    stopped = request("POST", f"{worker.url}/sessions/p1/stop")
    assert stopped.status in (200, 202)

    async def flat() -> dict[str, Any] | Pending:
        reply = request("GET", f"{worker.url}/sessions/p1/position")
        body = reply.body if reply.status == 200 else {}
        done = Decimal(body.get("quantity", "1")) == 0 and body.get("in_flight") is None
        return body if done else Pending(f"{reply.status}: {reply.body}")

    position = await wait_for_async(flat, 120, interval=1, what="the position closed after the stop")
    items = request("GET", f"{worker.url}/sessions/p1/trades").body["items"]

    await check_trades(kafka, topic_prefix, "p1", rows, items)
    total = sum((Decimal(t["pnl"]) for t in items), Decimal(0))
    assert abs(Decimal(position["equity"]) - (CAPITAL + total)) <= Decimal("1e-8")
    assert abs(Decimal(position["cash"]) - (CAPITAL + total)) <= Decimal("1e-8")


async def test_a_crash_between_placing_and_reporting_and_a_redelivered_order_make_one_fill(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    """SIGKILL (a failpoint) after the venue took the second order, before anyone heard of it;
    then the first order and its venue news produced again from outside: one fill each."""
    rows = json.loads(DATA.read_text())[:COUNT]
    worker = replay_worker(workers, tmp_path, rows)
    worker.extra_env["R3EDGE_FAILPOINT"] = "executor.after_place:2"
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    assert request("POST", f"{worker.url}/sessions", {"session_id": "k1", **spec()}).status == 201
    assert request("POST", f"{worker.url}/sessions/k1/start").status in (200, 202)
    assert await asyncio.to_thread(worker.wait_exit, 240) == 137, "the failpoint ended the worker"
    worker.extra_env.pop("R3EDGE_FAILPOINT")
    await asyncio.to_thread(lambda: worker.start().wait_ready())

    async def two_trades() -> list[dict[str, Any]] | Pending:
        reply = request("GET", f"{worker.url}/sessions/k1/trades")
        done = reply.status == 200 and len(reply.body["items"]) >= 2
        return reply.body["items"] if done else Pending(await pipeline(kafka, topic_prefix, reply.body))

    await wait_for_async(two_trades, 240, interval=2, what="two round trips after the restart")
    first = [r for r in await read_all(kafka.bootstrap, f"{topic_prefix}.orders") if r.key == encode_key("k1:o1")]
    news = [r for r in await read_all(kafka.bootstrap, f"{topic_prefix}.venueevents") if r.key == encode_key("k1:o1")]
    # at least once: a crash before the offsets' commit sends the same order again (the order
    # agent keeps one fill per order id), so every copy on the topic is the same sealed order
    assert first and all((r.value, r.headers) == (first[0].value, first[0].headers) for r in first) and news
    for topic, records in (("orders", first[:1]), ("venueevents", news)):  # redelivered: the same bytes and seal
        await produce(kafka.bootstrap, f"{topic_prefix}.{topic}", [(r.key, r.value) for r in records],
                      [list(r.headers) for r in records])  # fmt: skip
    await settle_async(5)
    reports = [r for r in await values(kafka, f"{topic_prefix}.executions") if r["session_id"] == "k1"]
    fills: dict[str, list[str]] = {}
    for r in reports:
        if Decimal(r["last_quantity"]) > 0:
            fills.setdefault(r["order_id"], []).append(r["execution_id"])
    for order_id, ids in fills.items():
        assert len(set(ids)) == 1, f"{order_id} filled more than once: {ids}"  # a repeat keeps its id
    assert {"k1:o1", "k1:o2", "k1:o3", "k1:o4"} <= set(fills)
    items = request("GET", f"{worker.url}/sessions/k1/trades").body["items"]
    await check_trades(kafka, topic_prefix, "k1", rows, items)
    position = request("GET", f"{worker.url}/sessions/k1/position").body
    total = sum((Decimal(t["pnl"]) for t in items), Decimal(0))
    open_cost = Decimal(position["quantity"]) * Decimal(position["average_entry_price"]) + Decimal(
        position["open_fees"]
    )
    assert abs(Decimal(position["cash"]) + open_cost - (CAPITAL + total)) <= Decimal("1e-8"), position


# ------------------------------------------------------------------ protective exits on made candles

START_MS = 1_577_836_800_000  # 2020-01-01T00:00Z
STEP_MS = 60_000


def made(special: dict[int, tuple[float, float, float, float]], count: int = 60) -> list[list[Any]]:
    """Closes 100 for 40 candles, 101, then 102 flat: one crossing of SMA(2) over SMA(3) at candle 40
    (so one LONG, filled at candle 41's open of 102); ``special`` candles (O, H, L, C) as given."""
    rows = []
    for i in range(count):
        close = 100.0 if i < 40 else 101.0 if i == 40 else 102.0
        opened = 100.0 if i <= 40 else 102.0
        bar = special.get(i, (opened, max(opened, close), min(opened, close), close))
        rows.append([START_MS + i * STEP_MS, *bar, 10.0])
    return rows


MARKETS = {
    # candle 45's high reaches a 1 % take-profit, candle 46's low a 2 % stop-loss
    "MADEA_USD": made({45: (102.0, 103.5, 101.9, 102.0), 46: (102.0, 102.0, 99.0, 102.0)}),
    # candle 45 reaches both a 2 % stop and a 1 % take-profit; candle 46 opens at 95, below a 5 % stop
    "MADEB_USD": made({45: (102.0, 103.5, 99.0, 102.0), 46: (95.0, 102.0, 94.0, 102.0)}),
}
# session -> (market, risk, the candle that exits, the exit price by the documented rule, reason)
PROTECTED = {
    "a-stop": ("MADEA/USD", {"stop_loss_pct": "2"}, 46, Decimal("99.96"), "stop_loss"),
    "a-take": ("MADEA/USD", {"take_profit_pct": "1"}, 45, Decimal("103.02"), "take_profit"),
    "b-both": ("MADEB/USD", {"stop_loss_pct": "2", "take_profit_pct": "1"}, 45, Decimal("99.96"), "stop_loss"),
    "b-gap": ("MADEB/USD", {"stop_loss_pct": "5"}, 46, Decimal("95"), "stop_loss"),
}


async def test_stop_loss_and_take_profit_fire_on_their_candle_at_the_documented_price(
    workers: Callable[..., Worker], tmp_path: Path
) -> None:
    (tmp_path / "replay").mkdir()
    for name, rows in MARKETS.items():
        (tmp_path / "replay" / f"{name}-1m.json").write_text(json.dumps(rows))
    worker = workers(extra_env={"R3EDGE_REPLAY_DIR": str(tmp_path / "replay"), "R3EDGE_REPLAY_SPEED": SPEED,
                                "R3EDGE_COLLECT_INTERVAL": "0.5", "R3EDGE_COLLECT_LOOKBACK": "5000"})  # fmt: skip
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    for session_id, (symbol, risk, _, _, _) in PROTECTED.items():
        body = {**spec(**risk), "symbol": symbol, "parameters": {"fast": 2, "slow": 3}, "session_id": session_id}
        assert request("POST", f"{worker.url}/sessions", body).status == 201
        assert request("POST", f"{worker.url}/sessions/{session_id}/start").status in (200, 202)

    async def all_closed() -> dict[str, dict[str, Any]] | Pending:
        got = {s: request("GET", f"{worker.url}/sessions/{s}/trades").body.get("items", []) for s in PROTECTED}
        done = all(len(items) == 1 for items in got.values())
        return {s: items[0] for s, items in got.items()} if done else Pending(str(got))

    trades = await wait_for_async(all_closed, 240, interval=2, what="one round trip per session")
    for session_id, (symbol, _, candle, price, reason) in PROTECTED.items():
        trade = trades[session_id]
        rows = MARKETS[symbol.replace("/", "_")]
        assert trade["entry_time"] == iso(rows[41][0]) and Decimal(trade["entry_price"]) == Decimal("102"), trade
        assert (trade["exit_reason"], Decimal(trade["exit_price"])) == (reason, price), session_id
        assert trade["exit_time"] == iso(rows[candle][0] + STEP_MS), session_id  # decided at that candle's close
        quantity = Decimal(trade["quantity"])
        fees = (quantity * Decimal("102") + quantity * price) * FEE_BPS / 10_000
        assert abs(Decimal(trade["fees"]) - fees) <= Decimal("1e-8"), trade
        assert abs(Decimal(trade["pnl"]) - ((price - Decimal("102")) * quantity - fees)) <= Decimal("1e-8"), trade


# ------------------------------------------------------------------ stop, keep_positions, suspend


def series(closes: list[float], special: dict[int, tuple[float, float, float, float]]) -> list[list[Any]]:
    """Candles opening at the previous close (``special`` ones as given: O, H, L, C)."""
    rows, previous = [], closes[0]
    for i, close in enumerate(closes):
        bar = special.get(i, (previous, max(previous, close), min(previous, close), close))
        rows.append([START_MS + i * STEP_MS, *bar, 10.0])
        previous = bar[3]
    return rows


# LONG at 40 (filled at 41's open, 101); a dip to 98 at 600 (a 2 % stop at 98.98); SHORT at 610, LONG at 620
LIFECYCLE = series([100.0] * 40 + [101.0] + [102.0] * 569 + [95.0] * 10 + [96.0] * 80, {600: (102, 102, 98, 102)})


async def test_stop_closes_unless_kept_and_suspend_blocks_entries_but_not_the_stop_loss(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    (tmp_path / "replay").mkdir()
    (tmp_path / "replay" / "MADEC_USD-1m.json").write_text(json.dumps(LIFECYCLE))
    worker = workers(extra_env={"R3EDGE_REPLAY_DIR": str(tmp_path / "replay"), "R3EDGE_REPLAY_SPEED": SPEED,
                                "R3EDGE_COLLECT_INTERVAL": "0.5", "R3EDGE_COLLECT_LOOKBACK": "5000"})  # fmt: skip
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    sessions = {"keep": {}, "close": {}, "susp": {"stop_loss_pct": "2"}}
    for session_id, risk in sessions.items():
        body = {**spec(**risk), "symbol": "MADEC/USD", "parameters": {"fast": 2, "slow": 3}, "session_id": session_id}
        assert request("POST", f"{worker.url}/sessions", body).status == 201
        assert request("POST", f"{worker.url}/sessions/{session_id}/start").status in (200, 202)

    async def all_long() -> dict[str, dict[str, Any]] | Pending:
        got = {s: request("GET", f"{worker.url}/sessions/{s}/position").body for s in sessions}
        done = all(Decimal(p.get("quantity", "0")) > 0 and p.get("in_flight") is None for p in got.values())
        return got if done else Pending(str({s: (p.get("quantity"), p.get("in_flight")) for s, p in got.items()}))

    longs = await wait_for_async(all_long, 120, interval=0.5, what="every session long")
    assert request("POST", f"{worker.url}/sessions/susp/suspend").status in (200, 202)
    assert request("POST", f"{worker.url}/sessions/keep/stop", {"keep_positions": True}).status in (200, 202)
    assert request("POST", f"{worker.url}/sessions/close/stop").status in (200, 202)

    async def closed_and_stopped() -> list[dict[str, Any]] | Pending:
        close = request("GET", f"{worker.url}/sessions/close/trades").body.get("items", [])
        susp = request("GET", f"{worker.url}/sessions/susp/trades").body.get("items", [])
        return [*close, *susp] if len(close) == 1 and len(susp) == 1 else Pending(f"close {close}, susp {susp}")

    close_trade, susp_trade = await wait_for_async(closed_and_stopped, 240, interval=1, what="the exits")
    opens = {iso(r[0]): Decimal(str(r[1])) for r in LIFECYCLE}
    assert (
        close_trade["exit_reason"] == "session_stop"
        and Decimal(close_trade["exit_price"]) == opens[close_trade["exit_time"]]
    )  # the stop's exit: at the open of the candle after the stop
    # suspended, the stop-loss still fires, on the dip candle at its level
    stop = opens[iso(LIFECYCLE[41][0])] * Decimal("0.98")  # 2 % below the entry at candle 41's open
    assert (susp_trade["exit_reason"], Decimal(susp_trade["exit_price"])) == ("stop_loss", stop)
    assert susp_trade["exit_time"] == iso(LIFECYCLE[600][0] + STEP_MS)

    async def blocked() -> list[dict[str, Any]] | Pending:
        notes = [n for n in await values(kafka, f"{topic_prefix}.notifications") if n.get("session_id") == "susp"]
        found = [n for n in notes if n["category"] == "position.entry_blocked"]
        return found or Pending(f"{[n['category'] for n in notes]}")

    await wait_for_async(blocked, 120, interval=2, what="the LONG of candle 620 refused while suspended")
    kept = request("GET", f"{worker.url}/sessions/keep/position").body
    assert Decimal(kept["quantity"]) == Decimal(longs["keep"]["quantity"]) and kept["in_flight"] is None
    raw = [r["order_id"] for r in await values(kafka, f"{topic_prefix}.raworders")]
    assert sorted(o for o in raw if o.startswith("keep:")) == ["keep:o1"], "a kept position is left alone"
    assert sorted(o for o in raw if o.startswith("susp:")) == ["susp:o1", "susp:o2"], "no entry while suspended"
    assert request("GET", f"{worker.url}/sessions/keep/trades").body["items"] == []

    async def reports() -> dict[str, dict[str, Any]] | Pending:
        notes = [n for n in await values(kafka, f"{topic_prefix}.notifications") if "wound_down" in n["category"]]
        got = {n["session_id"]: n for n in notes}
        return got if {"keep", "close"} <= set(got) else Pending(str(sorted(got)))

    told = await wait_for_async(reports, 120, interval=2, what="each stop's report of what was done")
    assert told["keep"]["category"] == "session.wound_down.kept" and kept["quantity"] in told["keep"]["body"]
    quantity, entry = Decimal(close_trade["quantity"]), opens[close_trade["entry_time"]]
    exit_ = opens[close_trade["exit_time"]]  # from the data file: the round trip's net, computed here
    net = (exit_ - entry) * quantity - (entry + exit_) * quantity * FEE_BPS / 10_000
    assert told["close"]["category"] == "session.wound_down.closed"
    equity = re.search(r"equity (-?[0-9.]+) of capital", told["close"]["body"])
    assert equity and abs(Decimal(equity[1]) - (CAPITAL + net)) <= Decimal("1e-8"), told["close"]["body"]


# ------------------------------------------------------------------ one account, ten sessions, two workers


async def test_ten_sessions_on_one_account_never_exceed_its_exposure_limit_on_two_workers(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    """Each entry wants 2,000 (a fifth of 10,000); the account allows 5,000: two at a time."""
    rows = json.loads(DATA.read_text())[:COUNT]
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"shared": {"exchange": "replay", "limits": {"max_notional": "5000"}}}))
    os.chmod(accounts, 0o600)
    (tmp_path / "replay").mkdir()
    (tmp_path / "replay" / "UNITTEST_BTC-1m.json").write_text(json.dumps(rows))
    env = {"R3EDGE_REPLAY_DIR": str(tmp_path / "replay"), "R3EDGE_REPLAY_SPEED": SPEED,
           "R3EDGE_COLLECT_INTERVAL": "0.5", "R3EDGE_COLLECT_LOOKBACK": "5000",
           "R3EDGE_ACCOUNTS_FILE": str(accounts)}  # fmt: skip
    first, second = workers("w1", extra_env=env), workers("w2", extra_env=env)
    await asyncio.to_thread(lambda: first.start().wait_ready())
    await asyncio.to_thread(lambda: second.start().wait_ready())
    names = [f"a{n}" for n in range(10)]
    for n, session_id in enumerate(names):
        url = (first if n % 2 else second).url
        body = {**spec(), "account": "shared", "session_id": session_id}
        assert request("POST", f"{url}/sessions", body).status == 201
    for n, session_id in enumerate(names):
        assert request("POST", f"{(first if n % 2 else second).url}/sessions/{session_id}/start").status in (200, 202)

    async def enough() -> list[dict[str, Any]] | Pending:
        reports = [r for r in await values(kafka, f"{topic_prefix}.executions") if r["session_id"] in names]
        refused = [r for r in reports if r["status"] == "rejected"]
        fills = [r for r in reports if Decimal(r["last_quantity"]) > 0]
        done = len(refused) >= 8 and len({r["session_id"] for r in fills}) >= 2 and len(fills) >= 6
        return reports if done else Pending(f"{len(refused)} refused, {len(fills)} fills")

    reports = await wait_for_async(enough, 240, interval=2, what="refusals and fills of the ten sessions")
    # the account's commitments by the reports alone, in the order they happened
    orders = {o["order_id"]: o for o in await values(kafka, f"{topic_prefix}.orders")}
    held: dict[str, Decimal] = {}
    peak = Decimal(0)
    for r in sorted(reports, key=lambda r: (r["at"], r["order_id"], r["sequence"])):
        if Decimal(r["last_quantity"]) <= 0:
            continue
        if r["purpose"] == "entry":
            held[r["session_id"]] = Decimal(orders[r["order_id"]]["notional"])
        else:
            held.pop(r["session_id"], None)
        peak = max(peak, sum(held.values(), Decimal(0)))
    assert Decimal(0) < peak <= Decimal(5000)
    for r in (r for r in reports if r["status"] == "rejected"):
        assert "would exceed its limit 5000" in (r["reason"] or ""), r  # refused with the reason: the account's
    exposure = request("GET", f"{first.url}/accounts/shared/exposure").body
    assert Decimal(exposure["notional"]) <= Decimal(5000)


# ------------------------------------------------------------------ bad input on the money path's topics


async def test_orders_and_reports_nobody_asked_for_change_no_position_and_are_told(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    """From outside: a raw order for a session that does not exist, a sealed raw order changed on its
    way; with the key: a malformed report, a fill of an order the session never made. Dead letters
    with the reason, nothing sized or placed; the session's position is untouched."""
    (tmp_path / "replay").mkdir()
    (tmp_path / "replay" / "MADEA_USD-1m.json").write_text(json.dumps(MARKETS["MADEA_USD"]))
    worker = workers(extra_env={"R3EDGE_REPLAY_DIR": str(tmp_path / "replay"), "R3EDGE_REPLAY_SPEED": SPEED,
                                "R3EDGE_COLLECT_INTERVAL": "0.5", "R3EDGE_COLLECT_LOOKBACK": "5000"})  # fmt: skip
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    body = {**spec(), "symbol": "MADEA/USD", "parameters": {"fast": 2, "slow": 3}, "session_id": "real"}
    assert request("POST", f"{worker.url}/sessions", body).status == 201
    assert request("POST", f"{worker.url}/sessions/real/start").status in (200, 202)

    async def long() -> dict[str, Any] | Pending:
        held = request("GET", f"{worker.url}/sessions/real/position").body
        done = Decimal(held.get("quantity", "0")) > 0 and held.get("in_flight") is None
        return held if done else Pending(str(held))

    before = await wait_for_async(long, 120, interval=1, what="the session's entry filled")
    sealed = next(r for r in await read_all(kafka.bootstrap, f"{topic_prefix}.raworders", 60)
                  if r.key == encode_key("real:o1"))  # fmt: skip
    raw = json.loads(sealed.value or b"{}")
    ghost = json.dumps({**raw, "order_id": "ghost:o1", "session_id": "ghost"}).encode()
    bigger = json.dumps({**raw, "order_id": "real:o9", "reference_price": "0.5"}).encode()
    stranger = json.dumps({
        "execution_id": "real:o7:1", "order_id": "real:o7", "session_id": "real", "status": "filled", "sequence": 1,
        "filled_quantity": "5", "at": "2020-01-01T00:50:00Z", "average_price": "1", "last_quantity": "5",
        "last_price": "1", "side": "buy", "purpose": "entry",
    }).encode()  # fmt: skip
    malformed = b'{"execution_id": "x", "status": "filled", "filled_quantity": "NaN"}'
    # from outside without the key: unsealed, and a sealed record changed on its way
    outside = [(encode_key("ghost:o1"), ghost), (encode_key("real:o9"), bigger)]
    await produce(kafka.bootstrap, f"{topic_prefix}.raworders", outside, [[], list(sealed.headers)])
    # an operator holding the key (tests/kit/kafka.py seals as the README states): the agents' own checks
    await produce(kafka.bootstrap, f"{topic_prefix}.executions",
                  [(encode_key("real"), malformed), (encode_key("real"), stranger)],
                  [seal_headers("executions", encode_key("real"), v) for v in (malformed, stranger)])  # fmt: skip

    async def told() -> list[str] | Pending:
        reasons = [d.get("reason") or "" for d in await values(kafka, f"{topic_prefix}.deadletters")]
        wanted = ["not sealed", "bad seal", "real:o7 is not the order session real waits for", "missing required field"]
        found = [w for w in wanted if any(w in r for r in reasons)]
        return reasons if len(found) == len(wanted) else Pending(str(reasons))

    await wait_for_async(told, 120, interval=2, what="the four dead letters")
    strays_ids = ("ghost:o1", "real:o9")
    for topic in ("accountorders", "orders", "venueevents", "executions"):
        strays = [v for v in await values(kafka, f"{topic_prefix}.{topic}") if v.get("order_id") in strays_ids]
        assert not strays, f"{topic}: {strays}"  # nothing sized, reserved, placed or reported
    after = request("GET", f"{worker.url}/sessions/real/position").body
    for field in ("quantity", "cash", "fees", "realized_pnl", "average_entry_price", "decisions"):
        assert after[field] == before[field], field
    assert request("GET", f"{worker.url}/health").status == 200
