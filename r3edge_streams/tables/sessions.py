"""The ``sessions`` table: sessionId -> SessionState.

Written only by the session agent (:mod:`r3edge_streams.agents.sessions`), co-partitioned with
``sessioncommands``. Read by the session views, routed to the worker that owns the key.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import SessionState
from .changelog import CHANGELOG_CONFIG

sessions = app.Table(
    "sessions",
    key_type=str,
    value_type=SessionState,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Trading sessions by sessionId.",
)
