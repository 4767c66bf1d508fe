"""The position intake: the latest position of each session, from the ``positions`` topic.

Consumes ``positions`` (key sessionId), written by the position tracker. Owns (sole writer)
the ``session_positions`` table; an update older than the one held is ignored.
"""

from __future__ import annotations

from faust.types import StreamT

from ..application import app
from ..catalogue import POSITIONS
from ..models import Position
from ..streams import consume
from ..tables.session_positions import session_positions
from ..topics import channel


@app.agent(channel(POSITIONS), name="intake_positions")
async def intake_positions_agent(stream: StreamT[bytes]) -> None:
    """Keep the newest position per session."""
    await consume(stream, POSITIONS, take_position)


async def take_position(position: Position) -> None:
    held = session_positions.get(position.session_id)
    if held is None or position.updated_at >= held.updated_at:
        session_positions[position.session_id] = position
