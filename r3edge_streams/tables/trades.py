"""The ``trades`` table: sessionId -> TradeLog (the session's latest round trips).

Written only by the PositionTracker (:mod:`r3edge_streams.agents.position_tracker`),
co-partitioned with ``sessionsrequest`` and ``executions``.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import TradeLog
from .changelog import CHANGELOG_CONFIG

trades = app.Table(
    "trades",
    key_type=str,
    value_type=TradeLog,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Each session's latest round trips.",
)
