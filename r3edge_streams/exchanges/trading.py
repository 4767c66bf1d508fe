"""The trading port: what the OrderManager and the MoneyManager need from a venue.

In: sized ``Order`` records (their ``client_order_id`` derived from the order id, so a venue
can be asked again what became of one), symbols, client order ids. Out: the venue's view as
the plain values of :mod:`r3edge_streams.domain.venue` (market rules, orders with their
fills, balances), or one of the errors of :mod:`.errors`: ``OrderRejected`` with the venue's
reason for a refusal, a ``TransientExchangeError`` when the outcome is unknown (the caller
looks the order up by its client order id before it ever places it again). The paper venue
and the ccxt venue implement this one contract; the replay source does not (it only serves
market data, :mod:`.market_data`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from ..domain.venue import Balance, MarketRules, VenueOrder
from ..models import Order


class Trading(Protocol):
    """One account on one venue."""

    @property
    def venue_id(self) -> str:
        """The exchange id the account trades on (``paper`` venues name the exchange they copy)."""
        ...

    async def market_rules(self, symbol: str) -> MarketRules:
        """Lot step, price tick and minimum notional of ``symbol`` (``UnknownMarket`` if not listed)."""
        ...

    async def place(self, order: Order) -> VenueOrder:
        """Place ``order`` under its client order id unless the venue has it already; the answer is
        the order as the venue holds it either way: placing twice never makes two orders."""
        ...

    async def cancel(self, symbol: str, client_order_id: str, venue_order_id: str | None = None) -> VenueOrder:
        """Cancel an open order; the answer is its final state (``OrderNotFound`` if unknown)."""
        ...

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> VenueOrder | None:
        """The order placed under ``client_order_id`` with its fills, or None if the venue has none;
        ``venue_order_id``, the venue's own id of it when an earlier answer gave it, finds it
        directly (a venue that cannot look up client ids finds it so even when it is old)."""
        ...

    async def open_orders(self, symbol: str | None = None) -> Sequence[VenueOrder]:
        """The account's open orders (of ``symbol``, or of every market)."""
        ...

    async def balances(self) -> Mapping[str, Balance]:
        """The account's balances by asset."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
