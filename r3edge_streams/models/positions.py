"""Position messages: a session's holding in one market.

In: position tracking. Out: ``Position`` on ``positions`` (key sessionId).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from .base import Record


class Position(Record):
    """Signed quantity (negative is short), average entry, realised PnL and protective levels."""

    session_id: str
    exchange: str
    symbol: str
    quantity: Decimal
    average_entry_price: Decimal
    realized_pnl: Decimal
    updated_at: datetime
    stop_loss: Optional[Decimal] = None
    take_profit: Optional[Decimal] = None
