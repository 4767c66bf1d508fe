"""The ``positions`` table: sessionId -> Position (holding, cash, levels, the order in flight).

Written only by the PositionTracker (:mod:`r3edge_streams.agents.position_tracker`),
co-partitioned with ``sessionsrequest``, ``executions`` and ``sessions``.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import Position
from .changelog import CHANGELOG_CONFIG

positions = app.Table(
    "positions",
    key_type=str,
    value_type=Position,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Each session's position, as its tracker last decided it.",
)
