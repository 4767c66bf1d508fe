"""The ``exposure`` table: account -> AccountExposure (what the account's orders and positions commit).

Written only by the MoneyManager's account agent (:mod:`r3edge_streams.agents.money`),
co-partitioned with ``accountorders``.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import AccountExposure
from .changelog import CHANGELOG_CONFIG

exposure = app.Table(
    "exposure",
    key_type=str,
    value_type=AccountExposure,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Each account's reservations and recent verdicts.",
)
