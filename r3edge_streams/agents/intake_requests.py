"""The request intake (the PositionTracker's first stage): each session's requests taken once,
in order, and its auto-stop watched.

Consumes ``sessionsrequest`` (key sessionId): signals from the strategy agent, price updates
from the fan-out agent, tracking ticks from the scheduler. Owns (sole writer) the
``session_feeds`` table; a repeated request (same candle or time as one taken) is dropped,
which is what makes the producers' at-least-once sends exactly-once for a session, and so is
a signal of an instance the session left (a modification cuts over at once). After each
request it checks the session's auto-stop conditions (reading ``sessions`` and
``session_positions``, co-partitioned) and, when one is reached, produces a stop on
``sessioncommands`` as if the trader had asked, with the reason. The position tracker of the
later pipeline acts on the requests this agent accepts.
"""

from __future__ import annotations

import logging

from faust.types import StreamT

from ..application import app
from ..catalogue import SESSIONCOMMANDS, SESSIONSREQUEST
from ..domain.autostop import auto_stop_command, auto_stop_reason, watched
from ..domain.feeds import apply_request
from ..domain.sessions import strategy_instance_id
from ..models import SessionFeed, SessionRequest, SessionState
from ..streams import consume
from ..tables.session_feeds import session_feeds
from ..tables.session_positions import session_positions
from ..tables.sessions import sessions
from ..topics import channel, publish

log = logging.getLogger(__name__)
_stopping: dict[str, int] = {}  # session -> version a stop was sent for (not to send it per request)


@app.agent(channel(SESSIONSREQUEST), name="intake_requests")
async def intake_requests_agent(stream: StreamT[bytes]) -> None:
    """Take each request once into the session's feed; stop the session when a condition is met."""
    await consume(stream, SESSIONSREQUEST, take_request)


async def take_request(request: SessionRequest) -> None:
    state = sessions.get(request.session_id)
    following = strategy_instance_id(state.spec) if state is not None else None
    held = session_feeds.get(request.session_id)
    feed = apply_request(held, request, following)
    if feed is not None:
        session_feeds[request.session_id] = feed
    await _watch(state, feed or held, request)


async def _watch(state: SessionState | None, feed: SessionFeed | None, request: SessionRequest) -> None:
    if state is None or _stopping.get(state.session_id) == state.version or not watched(state):
        return
    reason = auto_stop_reason(state, feed, session_positions.get(state.session_id), request.at)
    if reason is not None:
        log.info("session %s: %s", state.session_id, reason)
        await publish(SESSIONCOMMANDS, auto_stop_command(state, reason, max(request.at, state.updated_at)))
        _stopping[state.session_id] = state.version
