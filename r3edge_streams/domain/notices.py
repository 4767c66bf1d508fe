"""Notifications the pure core decides to send (pure builders).

In: the event that calls for a notice. Out: a ``Notification`` whose id and time derive from
that event, so a redelivered event yields the same notification (idempotent downstream).
"""

from __future__ import annotations

from ..models import Notification, SessionCommand, Severity


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
