"""The ``session_positions`` table: sessionId -> the latest Position published for the session.

Written only by the position intake (:mod:`r3edge_streams.agents.intake_positions`) from the
``positions`` topic (key sessionId, co-partitioned with ``sessions``); read by the request intake's
auto-stop checks.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import Position
from .changelog import CHANGELOG_CONFIG

session_positions = app.Table(
    "session_positions",
    key_type=str,
    value_type=Position,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Latest position of each session, as published on positions.",
)
