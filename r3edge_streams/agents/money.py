"""The MoneyManager: raw orders sized, then decided by their account's one writer.

The sizing agent consumes ``raworders`` (key orderId): it gets the market's rules from the
order's venue, sizes the order (:func:`r3edge_streams.domain.money.sized`) and sends it to
its account on ``accountorders`` (key account: a repartition, as Kafka Streams' ``through``,
because every order of an account must meet the one writer of its exposure), or sends the
rejected report (``executions``) with a notification when it cannot be sized. The account
agent consumes ``accountorders``, owns (sole writer) the ``exposure`` table, and for each
event reserves (an entry), passes (an exit), settles (an order's end) or releases (a closed
position); an accepted order goes to ``orders`` (key orderId), a refused one is a rejected
report with the reason. A redelivered event gets the verdict it got first.
"""

from __future__ import annotations

import logging

from faust.types import StreamT

from ..application import app
from ..catalogue import ACCOUNTORDERS, EXECUTIONS, NOTIFICATIONS, ORDERS, RAWORDERS
from ..domain.money import for_account, on_account_event, rejected, sized
from ..domain.notices import order_refused
from ..domain.sizing import Refused
from ..exchanges.errors import ExchangeError
from ..execution import market_rules
from ..models import AccountEvent, RawOrder
from ..models.orders import ExecutionReport
from ..services import account_limits
from ..streams import consume
from ..tables.exposure import exposure
from ..topics import channel, publish

log = logging.getLogger(__name__)


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
    order = sized(raw, rules)
    if isinstance(order, Refused):
        await _refuse(rejected(raw.order_id, raw.session_id, order.reason, raw.created_at, raw))
        return
    await publish(ACCOUNTORDERS, for_account(order))


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
