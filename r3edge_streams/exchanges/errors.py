"""The errors of both exchange ports (market data and trading): the project's own, never ccxt's.

In: nothing. Out: the exception classes adapters translate third-party errors into, split
into transient ones (worth retrying after a pause) and final ones (retrying will not help).
"""

from __future__ import annotations


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


class RequestExpired(TransientExchangeError):
    """The exchange took the request too late after it was signed (its ``recvWindow``, a stale
    nonce) and refused it: it did nothing, and the same request signed anew may go."""


class BadExchangeResponse(TransientExchangeError):
    """The exchange answered something unreadable (truncated or malformed body)."""


class UnknownMarket(ExchangeError):
    """The exchange does not list this symbol or timeframe: retrying will not help."""


class ExchangeRejected(ExchangeError):
    """The exchange refused the request (bad parameters, permissions): retrying will not help."""


class OrderRejected(ExchangeError):
    """The venue refused an order (insufficient funds, invalid quantity, market closed), with its reason."""


class OrderNotFound(ExchangeError):
    """The venue has no order under the client order id asked for."""
