"""Shared test factories: one T0, candles from four prices, market rules, risk settings, sessions, signals.

In: the few numbers a test cares about (as strings, so every amount is an exact Decimal).
Out: valid records and values with everything else defaulted the same way in every test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from r3edge_streams.domain.venue import MarketRules
from r3edge_streams.models import (
    Candle,
    Direction,
    FillModel,
    RiskParams,
    SessionMode,
    SessionSpec,
    SessionState,
    SessionStatus,
    Signal,
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
