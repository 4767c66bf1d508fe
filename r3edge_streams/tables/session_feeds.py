"""The ``session_feeds`` table: sessionId -> SessionFeed (signals, prices and ticks taken once).

Written only by the PositionTracker (:mod:`r3edge_streams.agents.position_tracker`), co-partitioned with
``sessionsrequest`` and ``sessions``: the worker owning a session owns its feed.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import SessionFeed
from .changelog import CHANGELOG_CONFIG

session_feeds = app.Table(
    "session_feeds",
    key_type=str,
    value_type=SessionFeed,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="What reached each session on sessionsrequest, repeats dropped.",
)
