"""The ``sweeps`` table: sweepId -> SweepState (a sweep's jobs and each one's result, once).

Written only by the sweep agent (:mod:`r3edge_streams.agents.backtests`), co-partitioned with
``sweepevents``.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import SweepState
from .changelog import CHANGELOG_CONFIG

sweeps = app.Table(
    "sweeps",
    key_type=str,
    value_type=SweepState,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Each sweep's jobs and their results.",
)
