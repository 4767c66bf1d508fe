"""Notifications the pure core decides to send (pure builders).

In: the event that calls for a notice. Out: a ``Notification`` whose id and time derive from
that event, so a redelivered event yields the same notification (idempotent downstream).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ..models import (
    AccountAction,
    AccountEvent,
    ActiveStrategy,
    ExecutionReport,
    Notification,
    RequestKind,
    SessionCommand,
    SessionRequest,
    SessionState,
    SessionStatus,
    Severity,
)
from ..models.positions import Position
from .venue import VenueOrder


def command_rejected(command: SessionCommand, reason: str) -> Notification:
    """Tell the trader that ``command`` was refused and why."""
    return Notification(
        notification_id=f"rejected:{command.command_id}",
        severity=Severity.WARNING,
        category="session.command_rejected",
        title=f"{command.kind.value} refused for session {command.session_id}",
        body=reason,
        at=command.issued_at,
        session_id=command.session_id,
    )


def strategy_failed(instance: ActiveStrategy, error: str, at: datetime) -> Notification:
    """Tell the followers of ``instance`` that its strategy failed and stopped deciding."""
    return Notification(
        notification_id=f"failed:{instance.strategy_id}:g{instance.generation}",
        severity=Severity.CRITICAL,
        category="strategy.failed",
        title=f"strategy {instance.strategy} failed on {instance.market}",
        body=f"{error}; sessions following it: {', '.join(instance.sessions)}",
        at=at,
    )


def session_ended(state: SessionState) -> Notification:
    """Tell the trader that the session stopped or failed, and why (an auto-stop names its condition)."""
    failed = state.status is SessionStatus.FAILED
    automatic = state.reason is not None
    return Notification(
        notification_id=f"{state.status.value}:{state.session_id}:v{state.version}",
        severity=Severity.CRITICAL if failed else (Severity.WARNING if automatic else Severity.INFO),
        category=f"session.{state.status.value}",
        title=f"session {state.session_id} {state.status.value}",
        body=state.reason or "as the trader asked" + (" (positions kept open)" if state.keep_positions else ""),
        at=state.updated_at,
        session_id=state.session_id,
    )


def status_request(before: SessionState | None, after: SessionState) -> SessionRequest | None:
    """The request that tells the session's tracker of a status change (None: no change)."""
    if before is not None and before.status is after.status:
        return None
    return SessionRequest(
        request_id=f"session:{after.session_id}:v{after.version}",
        session_id=after.session_id,
        kind=RequestKind.SESSION,
        at=after.updated_at,
        status=after.status,
        keep_positions=after.keep_positions,
    )


def order_refused(report: ExecutionReport) -> Notification:
    """Tell the trader that an order was refused before any venue saw it, and why."""
    return Notification(
        notification_id=f"refused:{report.order_id}",
        severity=Severity.WARNING,
        category="order.refused",
        title=f"order {report.order_id} refused",
        body=report.reason or "refused",
        at=report.at,
        session_id=report.session_id,
    )


class WindDown(StrEnum):
    """What became of a stopped or failed session's position."""

    CLOSED = "closed"  # the session-stop exit filled
    KEPT = "kept"  # keep_positions: left open as it was
    FLAT = "flat"  # nothing was open
    NOT_CLOSED = "not closed"  # the session-stop exit ended unfilled: the position is still open


def wound_down(position: Position, outcome: WindDown, at: datetime, why: str = "") -> Notification:
    """The report of a stop or fail once its position's fate is settled: what was done, and the
    session's figures (trades, net realised PnL, fees, equity at the last price)."""
    mark = position.mark_price if position.mark_price is not None else position.average_entry_price
    equity = position.cash + position.quantity * mark
    figures = (
        f"{position.trades} trades, realised PnL {position.realized_pnl - position.fees:f} net of "
        f"{position.fees:f} fees, equity {equity:f} of capital {position.capital:f}"
    )
    done = {
        WindDown.CLOSED: "position closed",
        WindDown.KEPT: f"position kept open: {position.quantity:f} at {position.average_entry_price:f}",
        WindDown.FLAT: "nothing was open",
        WindDown.NOT_CLOSED: f"position NOT closed ({why}): {position.quantity:f} still open, close it by hand",
    }[outcome]
    flight = f"; order {position.in_flight.order_id} still in flight" if position.in_flight is not None else ""
    return Notification(
        notification_id=f"wound_down:{position.session_id}:o{position.decisions}",
        severity=Severity.CRITICAL if outcome is WindDown.NOT_CLOSED else Severity.INFO,
        category=f"session.wound_down.{outcome.name.lower()}",
        title=f"session {position.session_id}: {done}",
        body=f"{done}{flight}; {figures}",
        at=at,
        session_id=position.session_id,
    )


def order_unknown(account: str, order: VenueOrder) -> Notification:
    """An open order on the exchange under our client-id prefix that no order of the account is:
    reported for an operator to judge, never adopted or cancelled by the engine."""
    return Notification(
        notification_id=f"unknown:{account}:{order.client_order_id}",
        severity=Severity.CRITICAL,
        category="order.unknown",
        title=f"account {account}: unknown order {order.client_order_id} on the exchange",
        body=f"{order.side.value} {order.quantity} {order.symbol} ({order.order_type.value}, {order.status.value}, "
        f"exchange id {order.venue_order_id}): no order of this engine is it; it is left as it is",
        at=order.created_at,
    )


def account_halted(event: AccountEvent) -> Notification:
    """The account stopped taking new orders (it cannot be reconciled), or took them again."""
    halted = event.action is AccountAction.HALT
    return Notification(
        notification_id=event.event_id,
        severity=Severity.CRITICAL if halted else Severity.INFO,
        category="account.halted" if halted else "account.resumed",
        title=f"account {event.account} {'halted: no new orders' if halted else 'reconciled: trading again'}",
        body=event.reason or "its exchange could be read again and nothing unexplained was found",
        at=event.at,
    )
