"""The OrderManager: each order's state, moved by the order itself and by what its venue said.

Consumes ``orders`` (sized orders) and ``venueevents`` (the executor's news from the venues)
through one joint channel, both keyed by orderId, so one agent is the one writer of the
``orders`` table. The pure step (:mod:`r3edge_streams.domain.execution`) applies each fill
once by its venue trade id and numbers the execution reports; reports go to ``executions``
(key sessionId) and an order's end to its account (``accountorders``), confirmed before the
table is written. The executor timer takes the open orders of the partitions this worker owns
to their venues (:mod:`r3edge_streams.engines.executor`): placed only if the venue does not
have them, each order on a task of its own, so a slow venue never holds back this or any other
agent, nor another account's orders. Partitions taken away wait for the visits under way (their
events published) before the new owner takes the orders.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, cast

from faust.types import StreamT
from mode.types.signals import BaseSignalT

from ..application import app
from ..catalogue import ACCOUNTORDERS, EXECUTIONS, ORDERS, VENUEEVENTS
from ..domain.execution import Executed, on_order, on_venue_event
from ..execution import executor, owned_orders
from ..models import Order, VenueEvent
from ..services import failpoints
from ..streams import consume_each
from ..tables.orders import orders
from ..topics import joint_channel, publish_many

log = logging.getLogger(__name__)
EXECUTOR_INTERVAL = 0.5  # seconds between the executor's rounds over the open orders


@app.agent(joint_channel(ORDERS, VENUEEVENTS), name="orders")
async def order_agent(stream: StreamT[bytes]) -> None:
    """Keep each order; apply its venue's news; report every change once."""
    await consume_each(stream, [(ORDERS, take_order), (VENUEEVENTS, take_venue_event)])


async def take_order(order: Order) -> None:
    await _apply(order.order_id, on_order(orders.get(order.order_id), order, order.created_at))


async def take_venue_event(event: VenueEvent) -> None:
    await _apply(event.order_id, on_venue_event(orders.get(event.order_id), event))


async def _apply(order_id: str, result: Executed) -> None:
    await publish_many(EXECUTIONS, result.reports)
    await publish_many(ACCOUNTORDERS, result.account)
    if result.reports:
        failpoints.reach("orders.after_reports")  # tests crash here: reports sent, order state not written
    if result.state is not None:
        orders[order_id] = result.state


@app.timer(interval=EXECUTOR_INTERVAL, name="executor")
async def executor_timer() -> None:
    """Take this worker's open orders to their venues (never while partitions move)."""
    if app.rebalancing or not cast(Any, app.tables).recovery.completed.is_set():
        return
    try:
        await executor.visit(owned_orders())
    except Exception:  # noqa: BLE001 - the next round tries again; nothing is lost
        log.exception("executor round failed at %s", datetime.now(timezone.utc).isoformat())


@app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types the receiver too narrowly
async def finish_visits(sender: Any, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    """Partitions go: the visits under way end (and publish what they found) before the new owner
    visits the same orders, so no order is placed by two workers at once."""
    await executor.drain(timeout=executor.call_timeout)
