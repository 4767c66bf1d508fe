"""Shared test factories: one T0, candles from four prices, market rules, risk settings, sessions, signals.

In: the few numbers a test cares about (as strings, so every amount is an exact Decimal).
Out: valid records and values with everything else defaulted the same way in every test.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from r3edge_streams.domain.metrics import compute_metrics, metrics_json
from r3edge_streams.domain.venue import MarketRules
from r3edge_streams.models import (
    Candle,
    Direction,
    FillModel,
    OrderPurpose,
    OrderSide,
    RiskParams,
    SessionMode,
    SessionSpec,
    SessionState,
    SessionStatus,
    Signal,
    Trade,
)

T0 = datetime(2017, 11, 5, 12, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def d(value: str | int) -> Decimal:
    return Decimal(str(value))


def bar(minute: int, open_: str, high: str, low: str, close: str, symbol: str = "UNITTEST/BTC") -> Candle:
    """The 1m replay candle opening ``minute`` minutes after T0, linked to the one before it."""
    return Candle(
        exchange="replay",
        symbol=symbol,
        timeframe="1m",
        open_time=T0 + minute * MINUTE,
        open=d(open_),
        high=d(high),
        low=d(low),
        close=d(close),
        volume=d(1),
        previous_open=T0 + (minute - 1) * MINUTE if minute > 0 else None,
    )


def risk(**fields: Any) -> RiskParams:
    """``RiskParams`` with the given fields (numbers as strings), the rest at their defaults."""
    return RiskParams(**{k: d(v) if type(v) is str else v for k, v in fields.items()})


def rules(
    lot: str = "0.001", tick: str = "0.01", min_notional: str = "10", min_quantity: str = "0.001", **more: Any
) -> MarketRules:
    """Market rules of a BTC-like spot market (``lot`` step, price ``tick``, minimum notional)."""
    return MarketRules(
        symbol="UNITTEST/BTC",
        base="UNITTEST",
        quote="BTC",
        lot_step=d(lot),
        min_quantity=d(min_quantity),
        price_tick=d(tick),
        min_notional=d(min_notional),
        **more,
    )


def session(session_id: str = "s1", status: SessionStatus = SessionStatus.ACTIVE, **risk_fields: Any) -> SessionState:
    """An active paper session on the replay market, with ``risk`` fields and no fee or slippage."""
    spec = SessionSpec(
        strategy="sma_cross",
        parameters={"fast": 5, "slow": 20},
        exchange="replay",
        symbol="UNITTEST/BTC",
        timeframe="1m",
        mode=SessionMode.PAPER,
        refresh_seconds=60,
        risk=risk(**risk_fields),
        fills=FillModel(fee_bps=d(0), slippage_bps=d(0)),
    )
    return SessionState(session_id=session_id, spec=spec, status=status, version=2, created_at=T0, updated_at=T0,
                        last_command_id="c", started_at=T0)  # fmt: skip


def signal(minute: int, direction: Direction, price: str, strategy_id: str = "sma_cross-1") -> Signal:
    """The signal of the replay candle opening ``minute`` minutes after T0, at its close ``price``."""
    return Signal(signal_id=f"sig-{minute}", strategy_id=strategy_id, strategy="sma_cross", exchange="replay",
                  symbol="UNITTEST/BTC", timeframe="1m", candle_time=T0 + minute * MINUTE, direction=direction,
                  confidence=d(1), price=d(price))  # fmt: skip


def trade(
    number: int,
    entry: datetime,
    entry_price: str,
    exit_: datetime,
    exit_price: str,
    pnl: str,
    fees: str = "0",
    quantity: str = "1",
    side: OrderSide = OrderSide.BUY,
    reason: OrderPurpose = OrderPurpose.EXIT,
) -> Trade:
    """Round trip ``number`` of session s1 (prices, net ``pnl`` and ``fees`` as strings), with order ids from it."""
    return Trade(
        session_id="s1",
        number=number,
        side=side,
        quantity=d(quantity),
        entry_time=entry,
        entry_price=d(entry_price),
        exit_time=exit_,
        exit_price=d(exit_price),
        fees=d(fees),
        pnl=d(pnl),
        exit_reason=reason,
        entry_order_id=f"s1:o{2 * number - 1}",
        exit_order_id=f"s1:o{2 * number}",
    )


def backtest_report(
    rows: Sequence[Sequence[float]], trades: Sequence[tuple[int, int, OrderPurpose]], strategy: str = "sma_cross"
) -> dict[str, Any]:
    """A backtest report, the driver's shape, over 1m OHLCV ``rows`` ([open_ms, open, high, low, close, volume]).

    Each trade (entry row, exit row, reason; trades in order, not overlapping) buys 500 at its
    entry candle's open and sells at its exit candle's close, paying 10 bps of each fill's
    notional; equity (capital 1) is marked at every close; the metrics are
    ``metrics_json(compute_metrics(...))``; a missing minute between two rows is a gap.
    """
    times = [datetime.fromtimestamp(row[0] / 1000, tz=timezone.utc) for row in rows]
    prices = [[Decimal(str(v)) for v in row[1:5]] for row in rows]
    quantity, rate, capital = d(500), d("0.001"), d(1)
    starts, ends = {s for s, _, _ in trades}, {e for _, e, _ in trades}
    cash, held, equity = capital, d(0), []
    for k, (at, (open_, _, _, close)) in enumerate(zip(times, prices, strict=True)):
        if k in starts:
            cash, held = cash - quantity * open_ * (1 + rate), quantity
        if k in ends:
            cash, held = cash + quantity * close * (1 - rate), d(0)
        equity.append((at + MINUTE, cash + held * close))
    made = []
    for number, (start, end, reason) in enumerate(trades, 1):
        entry, exit_ = prices[start][0], prices[end][3]
        fees = quantity * entry * rate + quantity * exit_ * rate
        pnl = quantity * (exit_ - entry) - fees
        made.append(
            trade(
                number,
                times[start],
                str(entry),
                times[end] + MINUTE,
                str(exit_),
                str(pnl),
                str(fees),
                "500",
                reason=reason,
            )
        )
    metrics = compute_metrics(
        made,
        equity,
        capital=capital,
        first_close=prices[0][3],
        last_close=prices[-1][3],
        timeframe="1m",
        time_in_market=sum(e - s + 1 for s, e, _ in trades),
    )
    backtest = {
        "id": "bt-1",
        "strategy": strategy,
        "parameters": {"fast": 5, "slow": 20},
        "exchange": "replay",
        "symbol": "UNITTEST/BTC",
        "timeframe": "1m",
        "from": times[0].isoformat(),
        "to": (times[-1] + MINUTE).isoformat(),
        "capital": str(capital),
        "fee_bps": "10",
        "slippage_bps": "0",
        "candles": len(rows),
    }
    return {
        "backtest": backtest,
        "metrics": metrics_json(metrics),
        "trades": [_trade_json(t) for t in made],
        "equity": [{"time": at.isoformat(), "equity": str(value)} for at, value in equity],
        "candles": [
            {"time": at.isoformat(), "open": str(o), "high": str(h), "low": str(lo), "close": str(c)}
            for at, (o, h, lo, c) in zip(times, prices, strict=True)
        ],
        "gaps": [
            {"from": (a + MINUTE).isoformat(), "to": b.isoformat()}
            for a, b in zip(times, times[1:], strict=False)
            if b - a > MINUTE
        ],
    }


def _trade_json(t: Trade) -> dict[str, Any]:
    """A round trip as a backtest report lists it."""
    return {
        "number": t.number,
        "side": str(t.side),
        "quantity": str(t.quantity),
        "entry_time": t.entry_time.isoformat(),
        "entry_price": str(t.entry_price),
        "exit_time": t.exit_time.isoformat(),
        "exit_price": str(t.exit_price),
        "fee": str(t.fees),
        "pnl": str(t.pnl),
        "duration_seconds": int((t.exit_time - t.entry_time).total_seconds()),
        "exit_reason": str(t.exit_reason),
    }
