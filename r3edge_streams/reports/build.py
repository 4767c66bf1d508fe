"""A backtest's report as JSON-able data (pure).

In: the backtest's id and session spec, the span of its candles, the driver's ``Outcome``, the
``Metrics`` and the candles and gaps of the range. Out: the report (``backtest``, ``metrics``,
``trades``, ``orders``, ``equity``, ``candles``, ``gaps``): Decimals as strings, times as
ISO 8601 UTC, what :mod:`.html` renders and the API serves. Each trade has its entry and exit
time and price, side, quantity, fees, net PnL, duration and exit reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..domain.metrics import Metrics, metrics_json
from ..engines.backtest import Outcome
from ..models import Candle, OrderState, SessionSpec, to_json
from ..models.positions import Trade


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def backtest_report(
    backtest_id: str,
    spec: SessionSpec,
    start: datetime,
    end: datetime,
    outcome: Outcome,
    metrics: Metrics,
    candles: Sequence[Candle],
    gaps: Sequence[tuple[datetime, datetime]],
) -> dict[str, Any]:
    """The report of one backtest."""
    return {
        "backtest": {
            "id": backtest_id, "strategy": spec.strategy, "parameters": dict(spec.parameters),
            "exchange": spec.exchange, "symbol": spec.symbol, "timeframe": spec.timeframe, "from": iso(start),
            "to": iso(end), "capital": str(spec.risk.capital), "fee_bps": str(spec.fills.fee_bps),
            "slippage_bps": str(spec.fills.slippage_bps), "candles": outcome.candles,
        },
        "metrics": metrics_json(metrics),
        "trades": [trade_json(t) for t in outcome.trades],
        "orders": [order_json(o) for o in outcome.orders],
        "equity": [{"time": iso(at), "equity": str(value)} for at, value in outcome.equity],
        "candles": candles_json(candles),
        "gaps": [{"from": iso(first), "to": iso(last)} for first, last in gaps],
        "position": to_json(outcome.position) if outcome.position is not None else None,
    }  # fmt: skip


def candles_json(candles: Sequence[Candle]) -> list[dict[str, str]]:
    return [{"time": iso(c.open_time), "open": str(c.open), "high": str(c.high), "low": str(c.low),
             "close": str(c.close)} for c in candles]  # fmt: skip


def trade_json(trade: Trade) -> dict[str, Any]:
    return {
        "number": trade.number, "side": trade.side.value, "quantity": str(trade.quantity),
        "entry_time": iso(trade.entry_time), "entry_price": str(trade.entry_price), "exit_time": iso(trade.exit_time),
        "exit_price": str(trade.exit_price), "fee": str(trade.fees), "pnl": str(trade.pnl),
        "duration_seconds": int((trade.exit_time - trade.entry_time).total_seconds()),
        "exit_reason": trade.exit_reason.value, "entry_order_id": trade.entry_order_id,
        "exit_order_id": trade.exit_order_id,
    }  # fmt: skip


def order_json(state: OrderState) -> dict[str, Any]:
    order = state.order
    return {
        "order_id": order.order_id, "side": order.side.value, "purpose": order.purpose.value,
        "quantity": str(order.quantity), "decided_at": iso(order.created_at), "status": state.status.value,
        "reason": state.reason or order.reason,
        "fills": [{"at": iso(f.at), "quantity": str(f.quantity), "price": str(f.price), "fee": str(f.fee)}
                  for f in state.fills],
    }  # fmt: skip
