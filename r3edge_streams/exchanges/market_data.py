"""The market-data port: what the collector and the strategies' warm-up need from an exchange.

In: market coordinates (symbol, timeframe), a fetch window, and market times the engine has
seen. Out: ``Candle`` records with Decimal prices and UTC open times (``InvalidCandle`` for
rows that cannot be one), the exchange's idea of "now", or one of the errors of
:mod:`.errors`. Adapters translate third-party errors into these; callers never see ccxt's.
Trading (orders, balances, market rules) is the other port, :mod:`.trading`: the replay
source implements only this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..domain.candles import Fetched


class MarketData(Protocol):
    """One exchange's market data, as the collector and the strategies' warm-up use it."""

    @property
    def exchange_id(self) -> str:
        """The ccxt id of the exchange (``binance``, ``kucoin``, ...)."""
        ...

    async def now(self) -> datetime:
        """The current time as this source sees it (wall clock live, replay clock in replays)."""
        ...

    async def observe(self, moment: datetime) -> None:
        """The engine has seen market time ``moment`` (a candle some worker published closed then).

        A source with its own clock moves it forward so that its ``now()`` is at least
        ``moment`` (never back); a live exchange ignores it.
        """
        ...

    async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
        """Up to ``limit`` candles opening at or after ``since``, possibly including the forming one.

        A row that cannot be a ``Candle`` (NaN, missing value) comes back as ``InvalidCandle``.
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
