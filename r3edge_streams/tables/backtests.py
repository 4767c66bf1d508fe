"""The ``backtests`` table: jobId -> BacktestState (a job, where it is, its report or error).

Written only by the backtest agent (:mod:`r3edge_streams.agents.backtests`), co-partitioned
with ``backtestjobs``.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import BacktestState
from .changelog import CHANGELOG_CONFIG

backtests = app.Table(
    "backtests",
    key_type=str,
    value_type=BacktestState,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Each backtest job, its progress and its report.",
)
