"""The scheduler: tracking ticks of the active sessions this worker owns, at each one's refresh rate.

A timer on every worker reads the ``sessions`` partitions it owns (co-partitioned with
``sessionsrequest``) and produces one tick ``SessionRequest`` per due slot on
``sessionsrequest`` (key sessionId). None for created, suspended, stopped or failed sessions.
The slot rules (:mod:`r3edge_streams.domain.schedule`) keep ticks regular across rebalances.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, cast

from ..application import app
from ..catalogue import SESSIONCOMMANDS, SESSIONSREQUEST
from ..collection import owned_partitions
from ..domain.schedule import due_ticks
from ..models.codec import partition_of
from ..tables.sessions import sessions
from ..topics import publish_many

log = logging.getLogger(__name__)
TICK_RESOLUTION = 0.5  # seconds between scheduler rounds: ticks land within this of their slot
_ticked: dict[str, datetime] = {}


@app.timer(interval=TICK_RESOLUTION, name="scheduler")
async def scheduler_timer() -> None:
    """Send the ticks that are due now."""
    if app.rebalancing or not cast(Any, app.tables).recovery.completed.is_set():
        return
    try:
        mine = owned_partitions(SESSIONCOMMANDS)
        states = [
            state
            for key, state in list(sessions.items())
            if partition_of(key, sessions.partitions or app.conf.topic_partitions) in mine
        ]
        ticks = due_ticks(states, _ticked, datetime.now(timezone.utc))  # the clock is read here, once
        await publish_many(SESSIONSREQUEST, ticks)
        _ticked.update({tick.session_id: tick.at for tick in ticks})
        for gone in set(_ticked) - {state.session_id for state in states}:
            del _ticked[gone]
    except Exception:  # noqa: BLE001 - a failed round must not stop the timer; the next one retries
        log.exception("scheduler round failed")
