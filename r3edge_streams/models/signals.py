"""Signals: what a strategy instance concluded from one closed candle.

In: a strategy's output. Out: ``Signal`` on ``signals`` and inside session requests.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .base import Record
from .enums import Direction


class Signal(Record):
    """Direction and confidence (0..1) of instance ``strategy_id`` at the close of one candle."""

    signal_id: str
    strategy_id: str
    strategy: str
    exchange: str
    symbol: str
    timeframe: str
    candle_time: datetime
    direction: Direction
    confidence: Decimal
    price: Decimal

    def __post_init__(self) -> None:
        super().__post_init__()
        if not Decimal(0) <= self.confidence <= Decimal(1):
            raise ValueError(f"confidence: must be between 0 and 1, got {self.confidence}")
