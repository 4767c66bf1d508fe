"""The OrderManager's step (pure): an order's state, moved by what its venue said of it.

In: the order's ``OrderState`` (None before it arrives), and either the sized ``Order`` or a
``VenueEvent`` (the executor's news from the venue: placed, the fills it has so far, or its
end). Out: the new state, the ``ExecutionReport`` of each change (numbered per order, so the
tracker applies each once), and the ``AccountEvent`` an order's end calls for (an entry
settles its reservation, a filled exit releases its position's). A fill is applied once,
by its venue trade id, whatever the number of events that repeat it.
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from decimal import Decimal

from ..models import AccountAction, AccountEvent, Order, OrderFill, OrderPurpose, OrderState, OrderStatus, VenueEvent
from ..models.orders import ExecutionReport
from .money import account_of
from .values import value

_ZERO = Decimal(0)


@value
class Executed:
    state: OrderState | None = None  # None: unchanged
    reports: list[ExecutionReport] = field(default_factory=list)
    account: list[AccountEvent] = field(default_factory=list)


def on_order(state: OrderState | None, order: Order, at: datetime) -> Executed:
    """A sized order arrives: kept, to be placed by the executor (a repeat changes nothing)."""
    if state is not None:
        return Executed()
    return Executed(OrderState(order=order, status=OrderStatus.ACCEPTED, updated_at=at))


def on_venue_event(state: OrderState | None, event: VenueEvent) -> Executed:
    """Apply what the venue said: placement, new fills (each once), the end."""
    if state is None or state.status.final:
        return Executed()
    current, reports = state, []
    if not current.placed and event.status is not OrderStatus.REJECTED:
        current = current.derive(placed=True, venue_order_id=event.venue_order_id, updated_at=event.at)
        current, report = _reported(current, OrderStatus.ACCEPTED, None, event.at)
        reports.append(report)
    known = {fill.trade_id for fill in current.fills}
    for fill in (f for f in event.fills if f.trade_id not in known):
        current = current.derive(fills=[*current.fills, fill], updated_at=max(current.updated_at, fill.at))
        status = OrderStatus.FILLED if _filled(current) else OrderStatus.PARTIALLY_FILLED
        current, report = _reported(current, status, fill, fill.at)
        reports.append(report)
    if event.status.final and not current.status.final:
        current, last = _ended(current, event)
        reports.extend([last] if last is not None else [])
    if current == state:
        return Executed()
    return Executed(current, reports, _account_events(current) if current.status.final else [])


def _filled(state: OrderState) -> bool:
    return sum((f.quantity for f in state.fills), _ZERO) >= state.order.quantity


def _ended(state: OrderState, event: VenueEvent) -> tuple[OrderState, ExecutionReport | None]:
    """The order's end: a full fill was reported with its last fill; other ends get their own report."""
    if _filled(state):
        return state.derive(status=OrderStatus.FILLED), None
    status = event.status if event.status is not OrderStatus.FILLED else OrderStatus.CANCELLED
    ended = state.derive(reason=event.reason, updated_at=max(state.updated_at, event.at))
    return _reported(ended, status, None, event.at)


def _reported(
    state: OrderState, status: OrderStatus, fill: OrderFill | None, at: datetime
) -> tuple[OrderState, ExecutionReport]:
    order, sequence = state.order, state.reports + 1
    filled = sum((f.quantity for f in state.fills), _ZERO)
    value = sum((f.quantity * f.price for f in state.fills), _ZERO)
    report = ExecutionReport(
        execution_id=f"{order.order_id}:{sequence}", order_id=order.order_id, session_id=order.session_id,
        status=status, filled_quantity=filled, at=at, average_price=value / filled if filled else None,
        fee=sum((f.fee for f in state.fills), _ZERO), fee_currency=fill.fee_currency if fill else None,
        reason=state.reason, sequence=sequence, side=order.side, purpose=order.purpose,
        last_quantity=fill.quantity if fill else _ZERO, last_price=fill.price if fill else None,
        last_fee=fill.fee if fill else _ZERO, candle_time=fill.candle_time if fill else None,
    )  # fmt: skip
    return state.derive(status=status, reports=sequence, executions=[*state.executions, report]), report


def _account_events(state: OrderState) -> list[AccountEvent]:
    order = state.order
    account = account_of(order.session_id, order.account)
    filled = sum((f.quantity * f.price for f in state.fills), _ZERO)
    if order.purpose is OrderPurpose.ENTRY:
        action = AccountAction.SETTLE
    elif state.status is OrderStatus.FILLED:
        action = AccountAction.RELEASE
    else:
        action = AccountAction.END
    return [AccountEvent(event_id=f"{order.order_id}:{action.value}", account=account, action=action,
                         session_id=order.session_id, order_id=order.order_id, at=state.updated_at,
                         notional=filled)]  # fmt: skip
