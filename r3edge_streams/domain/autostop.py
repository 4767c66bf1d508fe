"""Auto-stop (pure): has a session reached one of its stop conditions, and the stop it calls for.

In: the session (``SessionState``: its ``auto_stop`` conditions and when it first started), its
feed (the latest price it was sent), its latest ``Position`` (or None) and the time of the
event being processed. Out: the reason to stop (None: go on) and the stop command, identical
for every event that finds the same session version past a condition, so asking twice is
harmless. PnL is realised (net of fees) plus unrealised at the feed's latest price, in the quote currency.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from ..models import CommandKind, Position, SessionCommand, SessionFeed, SessionState, SessionStatus

_RUNNING = frozenset({SessionStatus.ACTIVE, SessionStatus.SUSPENDED})


def session_pnl(position: Position | None, feed: SessionFeed | None) -> Decimal:
    """Net PnL: realised less every fee paid, plus the open quantity marked at the latest price
    (entry price if none yet) - equity less capital, for a position the tracker keeps."""
    if position is None:
        return Decimal(0)
    mark = feed.last_price if feed is not None and feed.last_price is not None else position.average_entry_price
    return position.realized_pnl - position.fees + position.quantity * (mark - position.average_entry_price)


def watched(state: SessionState) -> bool:
    """Whether ``state`` is running with any auto-stop condition (else nothing to check)."""
    conditions = state.spec.auto_stop
    return state.status in _RUNNING and (
        conditions.max_duration_seconds is not None
        or conditions.loss_limit is not None
        or conditions.gain_target is not None
    )


def auto_stop_reason(
    state: SessionState, feed: SessionFeed | None, position: Position | None, at: datetime
) -> str | None:
    """Why ``state`` must stop now, or None."""
    if state.status not in _RUNNING:
        return None
    conditions = state.spec.auto_stop
    if conditions.max_duration_seconds is not None and state.started_at is not None:
        limit = state.started_at + timedelta(seconds=conditions.max_duration_seconds)
        if at >= limit:
            return f"auto-stop: duration of {conditions.max_duration_seconds} s reached at {at.isoformat()}"
    pnl = session_pnl(position, feed)
    if conditions.loss_limit is not None and pnl <= -conditions.loss_limit:
        return f"auto-stop: loss limit {conditions.loss_limit} reached (PnL {pnl})"
    if conditions.gain_target is not None and pnl >= conditions.gain_target:
        return f"auto-stop: gain target {conditions.gain_target} reached (PnL {pnl})"
    return None


def auto_stop_command(state: SessionState, reason: str, at: datetime) -> SessionCommand:
    """The stop of ``state`` as if its trader had asked, carrying the reason."""
    return SessionCommand(
        command_id=f"autostop:{state.session_id}:v{state.version}",
        session_id=state.session_id,
        kind=CommandKind.STOP,
        issued_at=at,
        reason=reason,
    )
