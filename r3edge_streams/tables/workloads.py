"""The ``workloads`` table: market -> Workload (which strategy instances and sessions need it).

Written only by the workload agent (:mod:`r3edge_streams.agents.datacollect`), co-partitioned
with ``workloadcommands`` and ``marketdata`` (all keyed by market). Read by the collector (the
markets to collect), the fan-out agent (who gets each candle) and the workload views.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import Workload
from .changelog import CHANGELOG_CONFIG

workloads = app.Table(
    "workloads",
    key_type=str,
    value_type=Workload,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Markets to collect, with the strategy instances and sessions that need them.",
)
