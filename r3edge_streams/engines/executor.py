"""The executor: takes each open order of this worker to its venue, and reports what it finds.

In: the open ``OrderState`` records of the orders this worker owns, a way to find each
order's venue (the trading port), a sink for ``VenueEvent`` records and the wall clock (for
timeouts only). Out: one ``VenueEvent`` per change the venue shows (placed, new fills, the
end), published for the OrderManager agent, the one writer of order state.

Placed once, found again: an order is always first looked up by its client order id and
placed only if the venue does not have it (a placed one here; one not yet known placed by the
venue's ``place``, whose contract is exactly that), so a repeat round, a redelivery or a
restart never places it twice. A venue error that may be transient leaves the order for the next round; a
refusal is the order's end (rejected, with the venue's reason). An order still open after
``timeout`` seconds of this executor's watch is cancelled and reported expired. Orders are
visited concurrently (bounded), each with its own timeout, so a slow venue delays only its
own orders, never the agents.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Protocol

from ..domain.candles import floor_time
from ..domain.venue import VenueOrder
from ..exchanges.errors import ExchangeError, OrderRejected, TransientExchangeError
from ..exchanges.trading import Trading
from ..models import Order, OrderFill, OrderState, OrderStatus, VenueEvent

log = logging.getLogger(__name__)


class EventSink(Protocol):
    async def publish(self, events: list[VenueEvent]) -> None: ...


class Executor:
    """Visits open orders; remembers only when it first saw each (for its timeout)."""

    def __init__(
        self,
        venues: Callable[[Order], Trading],
        sink: EventSink,
        timeout: float = 300.0,
        concurrency: int = 8,
        call_timeout: float = 20.0,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        checkpoint: Callable[[str], None] = lambda name: None,
    ) -> None:
        self._venues = venues
        self._sink = sink
        self._timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._call_timeout = call_timeout
        self._clock = clock
        self._checkpoint = checkpoint  # failpoints: ``executor.after_place`` (placed, not yet reported)
        self._first_seen: dict[str, datetime] = {}

    async def visit(self, states: Iterable[OrderState]) -> None:
        """One round over ``states``: every open order advanced once."""
        open_states = [s for s in states if not s.status.final]
        self._forget({s.order.order_id for s in open_states})
        events = await asyncio.gather(*(self._guarded(state) for state in open_states))
        found = [event for event in events if event is not None]
        if found:
            await self._sink.publish(found)

    def _forget(self, open_ids: set[str]) -> None:
        for gone in set(self._first_seen) - open_ids:
            del self._first_seen[gone]

    async def _guarded(self, state: OrderState) -> VenueEvent | None:
        async with self._slots:
            try:
                return await asyncio.wait_for(self._advance(state), self._call_timeout)
            except (TimeoutError, TransientExchangeError) as exc:
                log.warning("order %s: venue unavailable (%s), next round", state.order.order_id, exc)
            except ExchangeError as exc:
                if not state.placed:  # never at the venue: it cannot be placed safely, so it is refused
                    return _event(state, OrderStatus.REJECTED, state.updated_at, reason=str(exc))
                # at the venue: a lookup that fails is no news of the order, which stays open
                log.error("order %s: the venue cannot be asked about it (%s), next round", state.order.order_id, exc)
            return None

    async def _advance(self, state: OrderState) -> VenueEvent | None:
        order = state.order
        venue = self._venues(order)
        now = self._clock()
        first = self._first_seen.setdefault(order.order_id, now)
        try:
            # an order not yet known placed goes to ``place``, which looks it up first itself
            found = (
                await venue.fetch_order(order.symbol, order.client_order_id, state.venue_order_id)
                if state.placed
                else None
            )
            if found is None:
                found = await venue.place(order)
                self._checkpoint("executor.after_place")
        except OrderRejected as exc:
            return _event(state, OrderStatus.REJECTED, state.updated_at, reason=str(exc))
        if not found.status.final and (now - first).total_seconds() > self._timeout:
            cancelled = await venue.cancel(order.symbol, order.client_order_id, found.venue_order_id)
            reason = f"not filled within {self._timeout:.0f} s (no candle after its decision came)"
            return _from_venue(
                state, cancelled, OrderStatus.EXPIRED if not cancelled.fills else cancelled.status, reason
            )
        return _from_venue(state, found, found.status, found.reason)


def _from_venue(state: OrderState, found: VenueOrder, status: OrderStatus, reason: str | None) -> VenueEvent | None:
    """The venue's news as an event; each fill dated by the candle it happened in (a paper fill's
    time is its candle's open already; a live trade's is the exchange's moment)."""
    frame = state.order.timeframe
    fills = [OrderFill(trade_id=f.trade_id, quantity=f.quantity, price=f.price, fee=f.fee, at=f.at,
                       fee_currency=f.fee_currency, candle_time=floor_time(f.at, frame))
             for f in found.fills]  # fmt: skip
    known = {f.trade_id for f in state.fills}
    if state.placed and status is state.status and all(f.trade_id in known for f in fills):
        return None  # nothing new
    event = _event(state, status, max([state.updated_at, *(f.at for f in fills)]), reason=reason)
    return event.derive(fills=fills, venue_order_id=found.venue_order_id,
                        event_id=f"{state.order.order_id}:{status.value}:{len(fills)}")  # fmt: skip


def _event(state: OrderState, status: OrderStatus, at: datetime, reason: str | None = None) -> VenueEvent:
    return VenueEvent(event_id=f"{state.order.order_id}:{status.value}:{len(state.fills)}",
                      order_id=state.order.order_id, status=status, at=at, reason=reason)  # fmt: skip
