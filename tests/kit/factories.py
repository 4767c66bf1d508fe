"""Shared test factories: one T0, candles from four prices, market rules, risk settings.

In: the few numbers a test cares about (as strings, so every amount is an exact Decimal).
Out: valid records and values with everything else defaulted the same way in every test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from r3edge_streams.domain.venue import MarketRules
from r3edge_streams.models import Candle, RiskParams

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
