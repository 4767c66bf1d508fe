"""Paper = backtest: a paper session on the replay exchange, through the Kafka agents of a real
worker, and the backtest driver in this process on the very candles the session got make the
same trades, to the last decimal (entry and exit times and prices, quantities, fees, PnL,
exit reasons), with a stop-loss and a take-profit on, and end with the same cash and holding.

Which candles the session got is read from the broker (its price requests), not from the
engine's views; the driver is warmed by the candles before the first one, as the strategy agent
warms a new instance from the exchange's history.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from r3edge_streams.domain.candles import close_time
from r3edge_streams.engines.backtest import Backtest
from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import SessionSpec, to_json
from tests.integration.test_datacollect_replay import values
from tests.integration.test_money_path import pipeline, replay_worker
from tests.kit.http import Pending, request, start_session, wait_for_async
from tests.kit.workers import Worker

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
#: rows replayed at 600x: 600 in CI (about a minute, every exit reason), 3,000 with TEST_FULL=1
COUNT = 3000 if os.environ.get("TEST_FULL") == "1" else 600
SPEC = {
    "strategy": "sma_cross", "parameters": {"fast": 5, "slow": 20}, "exchange": "replay", "symbol": "UNITTEST/BTC",
    "timeframe": "1m", "mode": "paper", "refresh_seconds": 60,
    "risk": {"capital": "2500", "position_fraction": "0.3", "stop_loss_pct": "0.5", "take_profit_pct": "0.8"},
    "fills": {"fee_bps": "7.5", "slippage_bps": "2"},
}  # fmt: skip


async def test_a_paper_session_through_the_agents_trades_as_the_backtest_driver_on_its_candles(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str, tmp_path: Path
) -> None:
    rows = json.loads(DATA.read_text())[:COUNT]
    worker = replay_worker(workers, tmp_path, rows)
    await asyncio.to_thread(lambda: worker.start().wait_ready())
    assert request("POST", f"{worker.url}/sessions", {"session_id": "pb", **SPEC}).status == 201
    await asyncio.to_thread(start_session, worker.url, "pb")
    candles = load_ohlcv(tmp_path / "replay" / "UNITTEST_BTC-1m.json", "replay", "UNITTEST/BTC", "1m")
    last = close_time(candles[-1])

    async def through() -> dict[str, Any] | Pending:
        position = request("GET", f"{worker.url}/sessions/pb/position").body
        seen = position.get("last_candle_time")
        done = seen == candles[-1].open_time.isoformat().replace("+00:00", "Z") and position.get("in_flight") is None
        return position if done else Pending(await pipeline(kafka, topic_prefix, f"last candle {seen} of {last}"))

    position = await wait_for_async(through, 300 + COUNT // 10, interval=2, what="the session through the replay")
    trades = request("GET", f"{worker.url}/sessions/pb/trades").body["items"]
    prices = [r for r in await values(kafka, f"{topic_prefix}.sessionsrequest") if r["kind"] == "price"]
    first = min(r["candle"]["open_time"] for r in prices if r["session_id"] == "pb")
    start = next(n for n, c in enumerate(candles) if c.open_time.isoformat().replace("+00:00", "Z") == first)

    spec = SessionSpec.from_data(SPEC)
    outcome = await Backtest(spec, session_id="pb").run(candles[start:], candles[:start])
    assert len(trades) >= 10, "enough round trips to mean something"
    assert {t["exit_reason"] for t in trades} >= {"exit", "stop_loss", "take_profit"}
    assert trades == [to_json(t) for t in outcome.trades], "the same trades, to the last decimal"
    end = outcome.position
    assert end is not None
    assert (Decimal(position["cash"]), Decimal(position["quantity"])) == (end.cash, end.quantity)
