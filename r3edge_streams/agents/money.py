"""The MoneyManager: raw orders sized, then decided by their account's one writer.

The sizing agent consumes ``raworders`` (key orderId): it gets the market's rules from the
order's venue, sizes the order (:func:`r3edge_streams.domain.money.sized`) and sends it to
its account on ``accountorders`` (key account: a repartition, as Kafka Streams' ``through``,
because every order of an account must meet the one writer of its exposure), or sends the
rejected report (``executions``) with a notification when it cannot be sized. The account
agent consumes ``accountorders``, owns (sole writer) the ``exposure`` table, and for each
event reserves (an entry), passes (an exit), settles (an order's end) or releases (a closed
position), and halts or resumes the account; an accepted order goes to ``orders`` (key
orderId), a refused one is a rejected report with the reason. A redelivered event gets the
verdict it got first. The reconciler timer checks the live accounts whose ledger this worker
owns against their exchanges (:mod:`r3edge_streams.reconciliation`), at once after the worker
gains partitions and then every half minute.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from faust.types import StreamT
from mode.types.signals import BaseSignalT

from ..application import app
from ..catalogue import ACCOUNTORDERS, EXECUTIONS, NOTIFICATIONS, ORDERS, RAWORDERS
from ..domain.money import on_account_event, rejected, sizing
from ..domain.notices import order_refused
from ..exchanges.errors import ExchangeError
from ..execution import market_rules, venues
from ..models import AccountEvent, RawOrder
from ..models.orders import ExecutionReport
from ..reconciliation import reconciler
from ..services import account_limits
from ..streams import consume
from ..tables.exposure import exposure
from ..topics import channel, publish

log = logging.getLogger(__name__)
RECONCILE_TICK = 1.0  # seconds between the reconciler's looks (it checks when due: after an assignment, or each 30 s)


@app.agent(channel(RAWORDERS), name="sizing")
async def sizing_agent(stream: StreamT[bytes]) -> None:
    """Size each raw order and send it to its account (or reject it with the reason)."""
    await consume(stream, RAWORDERS, take_raw_order)


async def take_raw_order(raw: RawOrder) -> None:
    try:
        rules = await market_rules(raw.mode, raw.exchange, raw.symbol, raw.account)
    except ExchangeError as exc:
        await _refuse(rejected(raw.order_id, raw.session_id, f"no market rules: {exc}", raw.created_at, raw))
        return
    step = sizing(raw, rules)
    if isinstance(step, ExecutionReport):
        await _refuse(step)
        return
    await publish(ACCOUNTORDERS, step)


@app.agent(channel(ACCOUNTORDERS), name="accounts")
async def account_agent(stream: StreamT[bytes]) -> None:
    """The one writer of each account's exposure: reserve, pass, settle, release."""
    await consume(stream, ACCOUNTORDERS, take_account_event)


async def take_account_event(event: AccountEvent) -> None:
    decision = on_account_event(exposure.get(event.account), event, account_limits(event.account))
    if decision.order is not None:
        await publish(ORDERS, decision.order)
    if decision.report is not None:
        await _refuse(decision.report)
    if decision.exposure != exposure.get(event.account):
        exposure[event.account] = decision.exposure


async def _refuse(report: ExecutionReport) -> None:
    log.info("order %s refused: %s", report.order_id, report.reason)
    await publish(EXECUTIONS, report)
    await publish(NOTIFICATIONS, order_refused(report))


@app.task
async def warm_live_venues() -> None:
    """At start: the live accounts' markets, read before the first order needs their rules."""
    await venues.warm()


@app.timer(interval=RECONCILE_TICK, name="reconciler")
async def reconcile_timer() -> None:
    """Reconcile the live accounts this worker owns (never while partitions move)."""
    if app.rebalancing or not cast(Any, app.tables).recovery.completed.is_set():
        return
    try:
        await reconciler.tick(asyncio.get_running_loop().time())
    except Exception:  # noqa: BLE001 - the next tick tries again; the account stays as it was
        log.exception("reconciliation round failed")


@app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types the receiver too narrowly
async def reconcile_soon(sender: Any, *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    """Partitions came: reconcile their accounts at the next tick."""
    reconciler.due_now()
