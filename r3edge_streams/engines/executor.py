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
``timeout`` seconds of this executor's watch is cancelled and reported expired.

Each order is visited on a task of its own, one visit at a time (so its events leave in
order), each with its own time limit, at most ``concurrency`` at once per venue account: a
slow or silent exchange holds back only its own account's orders, never another venue's, the
round, or the agents. ``visit`` starts the visits a round calls for and returns at once; an
order whose last event the table does not show yet is not visited again until it does (or
``catch_up`` seconds pass), so a round never asks the exchange again what it just told.
``drain`` waits for the visits under way (tests, the backtest driver, a revocation).
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


Lane = tuple[str, str, str | None]  # (mode, exchange, account): one venue account


class Executor:
    """Visits open orders on their own tasks; remembers when it first saw each (for its timeout)
    and the last event it published of each (until the table shows it)."""

    def __init__(
        self,
        venues: Callable[[Order], Trading],
        sink: EventSink,
        timeout: float = 300.0,
        concurrency: int = 8,
        call_timeout: float | None = 20.0,  # None: no time limit (a venue that never waits)
        catch_up: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        checkpoint: Callable[[str], None] = lambda name: None,
    ) -> None:
        self._venues = venues
        self._sink = sink
        self._timeout = timeout
        self._concurrency = concurrency
        self._lanes: dict[Lane, asyncio.Semaphore] = {}
        self.call_timeout = call_timeout
        self._catch_up = catch_up
        self._clock = clock
        self._checkpoint = checkpoint  # failpoints: ``executor.after_place`` (placed, not yet reported)
        self._first_seen: dict[str, datetime] = {}
        self._told: dict[str, tuple[VenueEvent, datetime]] = {}  # order id -> last event published, when
        self._running: dict[str, asyncio.Task[None]] = {}

    async def visit(self, states: Iterable[OrderState]) -> None:
        """One round over ``states``: a visit started for every open order not being visited
        already and whose last event the table shows (returns without waiting for them)."""
        for state in self._due(states):
            order_id = state.order.order_id
            self._running[order_id] = asyncio.create_task(self._visit_one(state), name=f"order {order_id}")

    async def visit_in_turn(self, states: Iterable[OrderState]) -> None:
        """The same round, each visit awaited in turn on the caller's task: for a driver in one
        process whose venue never waits (the backtest's paper venue), without a task per visit."""
        for state in self._due(states):
            await self._visit_one(state)

    def _due(self, states: Iterable[OrderState]) -> list[OrderState]:
        """The open orders of ``states`` a round visits: not under way, their last event shown."""
        open_states = [s for s in states if not s.status.final]
        self._forget({s.order.order_id for s in open_states})
        now = self._clock()
        return [s for s in open_states if s.order.order_id not in self._running and not self._awaiting(s, now)]

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the visits under way (at most ``timeout`` seconds; they go on after it)."""
        running = list(self._running.values())
        if running:
            await asyncio.wait(running, timeout=timeout)

    async def close(self) -> None:
        """Stop every visit under way (the worker stops)."""
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    def _forget(self, open_ids: set[str]) -> None:
        for memory in (self._first_seen, self._told):
            for gone in set(memory) - open_ids:
                del memory[gone]

    def _awaiting(self, state: OrderState, now: datetime) -> bool:
        """The last event published of this order is not in its state yet (for ``catch_up`` s)."""
        told = self._told.get(state.order.order_id)
        if told is None or _reflects(state, told[0]):
            return False
        return (now - told[1]).total_seconds() < self._catch_up

    async def _visit_one(self, state: OrderState) -> None:
        order_id = state.order.order_id
        try:
            event = await self._guarded(state)
            if event is not None:
                await self._sink.publish([event])
                self._told[order_id] = (event, self._clock())
        except Exception:  # noqa: BLE001 - the next round visits it again; nothing is lost
            log.exception("order %s: visit failed", order_id)
        finally:
            self._running.pop(order_id, None)

    def _lane(self, order: Order) -> asyncio.Semaphore:
        lane = (order.mode.value, order.exchange, order.account)
        slots = self._lanes.get(lane)
        if slots is None:
            slots = self._lanes[lane] = asyncio.Semaphore(self._concurrency)
        return slots

    async def _guarded(self, state: OrderState) -> VenueEvent | None:
        async with self._lane(state.order):
            try:
                return await asyncio.wait_for(self._advance(state), self.call_timeout)
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


def _reflects(state: OrderState, event: VenueEvent) -> bool:
    """Whether ``state`` shows what ``event`` said: its placement, its fills and its end."""
    if event.status.final:
        return state.status.final
    known = {f.trade_id for f in state.fills}
    return state.placed and all(f.trade_id in known for f in event.fills)


def _from_venue(state: OrderState, found: VenueOrder, status: OrderStatus, reason: str | None) -> VenueEvent | None:
    """The venue's news as an event (None: nothing new); each fill dated by the candle it happened
    in (a paper fill's time is its candle's open already; a live trade's is the exchange's moment)."""
    known = {f.trade_id for f in state.fills}
    if state.placed and status is state.status and all(f.trade_id in known for f in found.fills):
        return None
    frame = state.order.timeframe
    fills = [OrderFill(trade_id=f.trade_id, quantity=f.quantity, price=f.price, fee=f.fee, at=f.at,
                       fee_currency=f.fee_currency, candle_time=floor_time(f.at, frame))
             for f in found.fills]  # fmt: skip
    at = max([state.updated_at, *(f.at for f in fills)])
    return _event(state, status, at, reason=reason, fills=fills, venue_order_id=found.venue_order_id)


def _event(
    state: OrderState,
    status: OrderStatus,
    at: datetime,
    reason: str | None = None,
    fills: list[OrderFill] | None = None,
    venue_order_id: str | None = None,
) -> VenueEvent:
    """An event of ``state``'s order: ``fills`` (the venue's, all of them) when it tells them, else
    none; its id names the order, the status and the number of fills known with it."""
    count = len(state.fills) if fills is None else len(fills)
    return VenueEvent(event_id=f"{state.order.order_id}:{status.value}:{count}", order_id=state.order.order_id,
                      status=status, at=at, reason=reason, fills=fills or [],
                      venue_order_id=venue_order_id)  # fmt: skip
