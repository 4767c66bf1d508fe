"""The ``orders`` table: orderId -> OrderState (each order, how far its venue took it, its fills).

Written only by the OrderManager (:mod:`r3edge_streams.agents.orders`),
co-partitioned with ``orders`` and ``venueevents``.
"""

from __future__ import annotations

from ..application import app, settings
from ..models import OrderState
from .changelog import CHANGELOG_CONFIG

orders = app.Table(
    "orders",
    key_type=str,
    value_type=OrderState,
    partitions=settings.partitions,
    extra_topic_configs=CHANGELOG_CONFIG,
    help="Each order's state and fills.",
)
