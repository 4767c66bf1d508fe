"""The session tracker: each session's requests taken once, in order.

Consumes ``sessionsrequest`` (key sessionId): signals from the strategy agent, price updates
from the fan-out agent, tracking ticks from the scheduler. Owns (sole writer) the
``session_feeds`` table; a repeated request (same candle or time as one taken) is dropped,
which is what makes the producers' at-least-once sends exactly-once for a session.
The position tracker of the later pipeline acts on the requests this agent accepts.
"""

from __future__ import annotations

from faust.types import StreamT

from ..application import app
from ..domain.feeds import apply_request
from ..models import SessionRequest
from ..streams import accepted
from ..tables.session_feeds import session_feeds
from ..topics import sessionsrequest


@app.agent(sessionsrequest, name="tracker")
async def tracker_agent(stream: StreamT[bytes]) -> None:
    """Take each request once into the session's feed."""
    async for _, request in accepted(stream, "sessionsrequest", SessionRequest):
        updated = apply_request(session_feeds.get(request.session_id), request)
        if updated is not None:
            session_feeds[request.session_id] = updated
