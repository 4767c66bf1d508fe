"""The ``active_strategies`` table: strategyId -> ActiveStrategy (the instance and its sessions).

Written only by the activation agent (:mod:`r3edge_streams.agents.strategies`), co-partitioned
with ``strategycommands`` and ``strategiesdata`` (all keyed by strategyId). Read by the
strategy views, and by the strategy agent of the StrategyExecutor issue.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import ActiveStrategy
from .changelog import CHANGELOG_CONFIG

active_strategies = app.Table(
    "active_strategies",
    key_type=str,
    value_type=ActiveStrategy,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Strategy instances with the sessions that follow them.",
)
