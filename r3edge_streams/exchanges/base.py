"""The exchange port: what the engine needs from an exchange, and the errors it may raise.

In: market coordinates (symbol, timeframe), a fetch window, and market times the engine has
seen. Out: ``Candle`` records with Decimal prices and UTC open times (``InvalidCandle`` for
rows that cannot be one), the exchange's idea of "now", or one of the project's own errors. Adapters translate third-party errors into these; callers never see ccxt's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, Sequence

from ..domain.candles import Fetched


class ExchangeError(Exception):
    """Something went wrong talking to an exchange."""


class TransientExchangeError(ExchangeError):
    """Worth retrying after a pause: network trouble, timeouts, 5xx, maintenance, rate limits."""


class RateLimited(TransientExchangeError):
    """The exchange asked us to slow down; ``retry_after`` seconds if it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ExchangeUnavailable(TransientExchangeError):
    """The exchange did not answer in time or answered with a server error."""


class BadExchangeResponse(TransientExchangeError):
    """The exchange answered something unreadable (truncated or malformed body)."""


class UnknownMarket(ExchangeError):
    """The exchange does not list this symbol or timeframe: retrying will not help."""


class ExchangeRejected(ExchangeError):
    """The exchange refused the request (bad parameters, permissions): retrying will not help."""


class ExchangeClient(Protocol):
    """One exchange, as the collector uses it."""

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

