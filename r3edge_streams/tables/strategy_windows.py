"""The ``strategy_windows`` table: strategyId -> StrategyWindow (newest candles, or the failure).

Written only by the strategy agent (:mod:`r3edge_streams.agents.strategies`), co-partitioned
with ``strategiesdata`` (key strategyId): a restart resumes with a warm window.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import StrategyWindow
from .changelog import CHANGELOG_CONFIG

strategy_windows = app.Table(
    "strategy_windows",
    key_type=str,
    value_type=StrategyWindow,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Each strategy instance's window of closed candles, or why it failed.",
)
