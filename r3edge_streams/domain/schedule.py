"""Tracking ticks (pure): which active sessions are due a tick, and the tick itself.

In: the sessions a worker owns, the slot each was last ticked for, and the time now (the
scheduler's clock reading, which the tick then carries as its event time). Out: one tick
``SessionRequest`` per active session whose current slot has not been ticked. Slots are the
multiples of the session's refresh rate since the epoch, and a tick's id names its slot: a new
owner after a rebalance ticks the current slot at once (no session waits more than one
interval) and never the slots it missed (no burst), and a slot ticked by both the old and the
new owner is the same request, which the session's feed takes once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from ..models import RequestKind, SessionRequest, SessionState, SessionStatus

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def tick_slot(now: datetime, refresh_seconds: int) -> datetime:
    """The start of the refresh interval that contains ``now``."""
    elapsed = int((now - _EPOCH).total_seconds())
    return datetime.fromtimestamp(elapsed - elapsed % refresh_seconds, tz=timezone.utc)


def due_ticks(states: Iterable[SessionState], ticked: Mapping[str, datetime], now: datetime) -> list[SessionRequest]:
    """A tick for each active session whose current slot is newer than the one it was ticked for."""
    due = []
    for state in states:
        if state.status is not SessionStatus.ACTIVE:
            continue
        slot = tick_slot(now, state.spec.refresh_seconds)
        last = ticked.get(state.session_id)
        if last is None or slot > last:
            due.append(
                SessionRequest(
                    request_id=f"tick:{state.session_id}:{slot.isoformat()}",
                    session_id=state.session_id,
                    kind=RequestKind.TICK,
                    at=slot,
                )
            )
    return due
