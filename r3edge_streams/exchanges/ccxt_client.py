"""The live adapter: any exchange ccxt supports, through ``ccxt.async_support``.

In: an exchange id (``binance``, ``kucoin``, ``kraken``, ...), optional API host override
(a testnet, a proxy, or the local test server) and ccxt options. Out: ``Candle`` records with
Decimal prices and UTC times. ccxt's rate limiter is on; transient failures (timeouts, 5xx,
rate limits, unreadable bodies) are retried with exponential backoff; every ccxt exception
is translated into the project's own (:mod:`.errors`) before it leaves this module.
"""

from __future__ import annotations

import asyncio
import decimal
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
from ccxt.base import errors as ccxt_errors

from ..domain.candles import Fetched, InvalidCandle
from ..models import Candle
from .errors import (
    BadExchangeResponse,
    ExchangeError,
    ExchangeRejected,
    ExchangeUnavailable,
    RateLimited,
    TransientExchangeError,
    UnknownMarket,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: every exchange id ccxt supports
ccxt_exchanges: frozenset[str] = frozenset(ccxt_async.exchanges)

#: ccxt options that keep market loading to spot markets on exchanges that load several kinds.
SPOT_ONLY_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
}


class CcxtExchange:
    """A MarketData source over one ccxt exchange instance."""

    def __init__(
        self,
        exchange_id: str,
        *,
        api_url: str | None = None,
        options: Mapping[str, Any] | None = None,
        timeout_ms: int = 10_000,
        attempts: int = 5,
        backoff_seconds: float = 0.5,
        time_sync: timedelta = timedelta(seconds=60),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self._ccxt = build(exchange_id, api_url=api_url, options=options, timeout_ms=timeout_ms)
        self._id = exchange_id
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._wall = wall_clock
        self._time_sync = time_sync
        self._offset: timedelta | None = None
        self._synced_at = datetime.min.replace(tzinfo=timezone.utc)
        self._markets_loaded = False

    @property
    def exchange_id(self) -> str:
        return self._id

    async def now(self) -> datetime:
        """The exchange's time: candles close by its clock, not by a local clock that may drift.

        The offset to the local clock is measured with ``fetch_time`` (where the exchange has it)
        every ``time_sync``; in between, local time plus that offset.
        """
        local = self._wall()
        if self._offset is None or local - self._synced_at >= self._time_sync:
            self._offset = await self._measure_offset()
            self._synced_at = self._wall()
        return self._wall() + self._offset

    async def observe(self, moment: datetime) -> None:
        """A live exchange's clock is its own: what the engine has seen changes nothing."""

    async def _measure_offset(self) -> timedelta:
        if not self._ccxt.has.get("fetchTime"):
            return timedelta(0)
        before = self._wall()
        server_ms = await self._call(self._ccxt.fetch_time)
        after = self._wall()
        if not isinstance(server_ms, (int, float)):
            raise BadExchangeResponse(f"{self._id} answered {server_ms!r} for its time")
        server = datetime.fromtimestamp(server_ms / 1000, tz=timezone.utc)
        return server - (before + (after - before) / 2)

    async def fetch_candles(self, symbol: str, timeframe: str, since: datetime, limit: int) -> Sequence[Fetched]:
        if not self._markets_loaded:
            await self._call(self._ccxt.load_markets)
            self._markets_loaded = True
        if symbol not in self._ccxt.markets:
            raise UnknownMarket(f"{self._id} does not list {symbol}")
        if timeframe not in (self._ccxt.timeframes or {}):
            raise UnknownMarket(f"{self._id} has no {timeframe} candles")
        since_ms = int(since.timestamp() * 1000)
        rows = await self._call(self._ccxt.fetch_ohlcv, symbol, timeframe, since_ms, limit)
        return [_candle(self._id, symbol, timeframe, row) for row in rows]

    async def close(self) -> None:
        await self._ccxt.close()

    async def _call(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Call ccxt, retrying transient failures with exponential backoff."""
        for attempt in range(1, self._attempts + 1):
            try:
                return await fenced(function(*args))
            except Exception as exc:  # noqa: BLE001 - every ccxt error is translated here
                error = translate(exc)
                if not isinstance(error, TransientExchangeError) or attempt == self._attempts:
                    raise error from exc
                pause = self._pause(error, attempt)
                log.warning(
                    "%s: %s (attempt %d/%d), retrying in %.1fs", self._id, error, attempt, self._attempts, pause
                )
                await self._sleep(pause)
        raise AssertionError("unreachable")

    def _pause(self, error: TransientExchangeError, attempt: int) -> float:
        pause = self._backoff * 2 ** (attempt - 1)
        if isinstance(error, RateLimited) and error.retry_after:
            pause = max(pause, error.retry_after)
        return min(pause, 60.0)


def build(
    exchange_id: str,
    *,
    api_url: str | None = None,
    options: Mapping[str, Any] | None = None,
    timeout_ms: int = 10_000,
    credentials: Mapping[str, str] | None = None,
) -> Any:
    """A ``ccxt.async_support`` exchange: its rate limiter on, spot markets only, ``options`` and
    ``credentials`` (``apiKey``, ``secret``, ``password``) given, every API host replaced by
    ``api_url`` (its error codes kept: a testnet or proxy answers with the exchange's own)."""
    if exchange_id not in ccxt_exchanges:
        raise UnknownMarket(f"ccxt has no exchange {exchange_id!r}")
    config: dict[str, Any] = {
        **(credentials or {}),
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "options": {**SPOT_ONLY_OPTIONS, **(options or {})},
    }
    exchange = getattr(ccxt_async, exchange_id)(config)
    if api_url:
        exchange.urls["api"] = rehost(exchange.urls["api"], api_url.rstrip("/"))
        _keep_market_errors(exchange)
    return exchange


def _keep_market_errors(exchange: Any) -> None:
    """Exchanges that map error codes by API host (Binance's spot codes apply only to its own hosts)
    keep them on another host."""
    exceptions = getattr(exchange, "exceptions", None)
    if isinstance(exceptions, dict) and isinstance(exceptions.get("spot"), dict):
        for kind in ("exact", "broad"):
            exceptions[kind] = {**exceptions.get(kind, {}), **exceptions["spot"].get(kind, {})}


async def fenced(call: Awaitable[T]) -> T:
    """Await a ccxt call in a decimal context of its own: ccxt's ``decimal_to_precision`` switches
    the current context to rounding half up for good, which would change the engine's money
    arithmetic (:mod:`r3edge_streams.domain.numbers`) in the rest of the worker."""
    with decimal.localcontext():
        return await call


def translate(exc: Exception) -> ExchangeError:
    """The project's error for a ccxt (or network) exception."""
    message = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, (ccxt_errors.RateLimitExceeded, ccxt_errors.DDoSProtection)):
        return RateLimited(message)
    if isinstance(exc, (ccxt_errors.RequestTimeout, ccxt_errors.ExchangeNotAvailable, asyncio.TimeoutError)):
        return ExchangeUnavailable(message)
    if isinstance(exc, (ccxt_errors.BadResponse, ccxt_errors.NetworkError)):
        return BadExchangeResponse(message)
    if isinstance(exc, ccxt_errors.BadSymbol):
        return UnknownMarket(message)
    if isinstance(exc, ccxt_errors.BaseError):
        return ExchangeRejected(message)
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return BadExchangeResponse(message)  # ccxt parsing an unexpected body
    raise exc


def rehost(urls: Any, base: str) -> Any:
    """ccxt's API URL tree with every ``scheme://host`` replaced by ``base`` (paths kept)."""
    if isinstance(urls, str):
        return re.sub(r"^https?://[^/]+", base, urls)
    if isinstance(urls, dict):
        return {key: rehost(value, base) for key, value in urls.items()}
    return urls


def _candle(exchange: str, symbol: str, timeframe: str, row: list[Any]) -> Fetched:
    """A Candle, or an InvalidCandle when a value is missing or not a finite number."""
    try:
        open_time = datetime.fromtimestamp(int(row[0]) / 1000, tz=timezone.utc)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise BadExchangeResponse(f"candle row without an open time: {row!r}") from None
    try:
        opening, high, low, close, volume = (_decimal(value) for value in row[1:6])
        return Candle(
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            open_time=open_time,
            open=opening,
            high=high,
            low=low,
            close=close,
            volume=volume,
        )
    except ValueError as exc:
        return InvalidCandle(exchange, symbol, timeframe, open_time, repr(row[:6]), str(exc))


def _decimal(value: Any) -> Decimal:
    """ccxt hands numbers as floats: their shortest repr is the exchange's decimal string."""
    if value is None or isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number
