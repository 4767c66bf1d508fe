"""The MoneyManager's steps (pure): a raw order sized into an order, then decided by its account.

In: a ``RawOrder`` (the session's decision, with its equity, cash and risk) and the market's
``MarketRules``; then, for the account's one writer, the account's ``AccountExposure``, its
``AccountLimits`` and an ``AccountEvent``. Out: the sized ``Order`` (or the rejected
``ExecutionReport`` saying why it could not be sized), and the account's verdict: the order
to place, or its rejection, with the new exposure. Entries are sized from the session's risk
(:mod:`.sizing`); exits take the whole holding. The client order id is derived from the
order id (``r3`` and 30 hex digits of its SHA-256): within Binance's 36 characters of
``[A-Za-z0-9_-]``, the same for every redelivery, so a venue refuses a second placement.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal

from ..models import AccountAction, AccountEvent, AccountExposure, Order, OrderPurpose, OrderStatus, RawOrder
from ..models.orders import ExecutionReport
from .exposure import AccountLimits, earlier_verdict, ended, halted_verdict, opened, release_position, reserve, settle
from .sizing import Refused, size_entry, size_exit
from .values import value
from .venue import MarketRules

_BPS = Decimal(10_000)
CLIENT_ID_PREFIX = "r3"


def client_order_id(order_id: str) -> str:
    """The venue's id of our order ``order_id``: stable, short, of a safe alphabet."""
    return CLIENT_ID_PREFIX + hashlib.sha256(order_id.encode()).hexdigest()[:30]


def account_of(session_id: str, account: str | None) -> str:
    """The account an order counts against: the named one, or the session's own paper account."""
    return account if account is not None else f"session:{session_id}"


def sized(raw: RawOrder, rules: MarketRules) -> Order | Refused:
    """``raw`` with its quantity: entries by the session's risk, exits the whole holding."""
    if raw.purpose is OrderPurpose.ENTRY:
        fee_rate = raw.fills.fee_bps / _BPS
        result = size_entry(raw.risk, raw.side, raw.equity, raw.cash, raw.reference_price, raw.stop_price, fee_rate,
                            rules)  # fmt: skip
    else:
        result = size_exit(raw.quantity or Decimal(0), raw.reference_price, rules)
    if isinstance(result, Refused):
        return result
    return Order(
        order_id=raw.order_id, session_id=raw.session_id, exchange=raw.exchange, symbol=raw.symbol, side=raw.side,
        order_type=raw.order_type, mode=raw.mode, created_at=raw.created_at, quantity=result.quantity,
        client_order_id=client_order_id(raw.order_id), limit_price=raw.limit_price, reduce_only=raw.reduce_only,
        purpose=raw.purpose, timeframe=raw.timeframe, candle_time=raw.candle_time, signal_id=raw.signal_id,
        account=raw.account, reference_price=raw.reference_price, notional=result.notional, reason=raw.reason,
        trigger_price=raw.trigger_price, fills=raw.fills, cash=raw.cash, holding=raw.quantity or Decimal(0),
    )  # fmt: skip


def sizing(raw: RawOrder, rules: MarketRules) -> AccountEvent | ExecutionReport:
    """The sizing agent's step: the sized order for its account's writer, or its rejection."""
    order = sized(raw, rules)
    if isinstance(order, Refused):
        return rejected(raw.order_id, raw.session_id, order.reason, raw.created_at, raw)
    return for_account(order)


def rejected(
    order_id: str, session_id: str, reason: str, at: datetime, raw: RawOrder | Order | None = None
) -> ExecutionReport:
    """The final report of an order refused before any venue saw it."""
    return ExecutionReport(
        execution_id=f"{order_id}:rejected", order_id=order_id, session_id=session_id, status=OrderStatus.REJECTED,
        filled_quantity=Decimal(0), at=at, reason=reason, sequence=1, side=raw.side if raw else None,
        purpose=raw.purpose if raw else None,
    )  # fmt: skip


def for_account(order: Order) -> AccountEvent:
    """The sized order, for its account's writer: entries reserve room, exits pass."""
    action = AccountAction.RESERVE if order.purpose is OrderPurpose.ENTRY else AccountAction.PASS
    account = account_of(order.session_id, order.account)
    return AccountEvent(event_id=f"{order.order_id}:{action.value}", account=account, action=action,
                        session_id=order.session_id, order_id=order.order_id, at=order.created_at, order=order,
                        notional=order.notional)  # fmt: skip


@value
class AccountDecision:
    exposure: AccountExposure
    order: Order | None = None  # to place
    report: ExecutionReport | None = None  # the order was refused


def on_account_event(exposure: AccountExposure | None, event: AccountEvent, limits: AccountLimits) -> AccountDecision:
    """The account's writer: reserve for an entry (or refuse it), pass an exit, settle, release."""
    current = exposure or AccountExposure(account=event.account)
    if event.action is AccountAction.HALT:
        return AccountDecision(current.derive(halted=event.reason or "cannot be reconciled with its exchange"))
    if event.action is AccountAction.RESUME:
        return AccountDecision(current.derive(halted=None))
    if event.action is AccountAction.SETTLE:
        return AccountDecision(ended(settle(current, event.order_id, event.notional), event.order_id))
    if event.action is AccountAction.RELEASE:
        return AccountDecision(ended(release_position(current, event.session_id, event.at), event.order_id))
    if event.action is AccountAction.END:
        return AccountDecision(ended(current, event.order_id))
    order = event.order
    if order is None:
        return AccountDecision(current)
    return _new_order(current, event, order, limits)


def _new_order(current: AccountExposure, event: AccountEvent, order: Order, limits: AccountLimits) -> AccountDecision:
    """An entry reserves (or is refused), an exit passes; nothing new while the account is halted."""
    order_id = order.order_id
    if current.halted and order_id not in current.open_orders and earlier_verdict(current, order_id) is None:
        after, verdict = halted_verdict(current, order_id)
    elif event.action is AccountAction.PASS:
        earlier = earlier_verdict(current, order_id)
        if earlier is not None and not earlier.accepted:
            refused = rejected(order_id, order.session_id, earlier.reason, event.at, order)
            return AccountDecision(current, report=refused)
        return AccountDecision(opened(current, order_id), order=order)
    else:  # an entry: reserved, or refused, or the verdict it got before (a redelivery)
        after, verdict = reserve(current, order_id, order.session_id, order.notional, limits, event.at)
    if verdict.accepted:
        return AccountDecision(opened(after, order_id), order=order)
    return AccountDecision(after, report=rejected(order_id, order.session_id, verdict.reason, event.at, order))
