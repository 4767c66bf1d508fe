"""Notifications the pure core decides to send (pure builders).

In: the event that calls for a notice. Out: a ``Notification`` whose id and time derive from
that event, so a redelivered event yields the same notification (idempotent downstream).
"""

from __future__ import annotations

from datetime import datetime

from ..models import (
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
