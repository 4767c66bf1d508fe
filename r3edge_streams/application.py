"""The one Faust application, configured only from :mod:`r3edge_streams.config`.

In: ``R3EDGE_*`` settings. Out: ``app`` (the faust.App) and ``settings``; nothing else lives
here (the worker's long-lived objects are in :mod:`.services`).
Faust is given an empty environment, so its own variables (BROKER_URL, WEB_PORT, ...) cannot
silently override ours. Agents and views are found by autodiscovery when a worker starts.
"""

from __future__ import annotations

import faust

from .config import Settings, load_settings
from .provisioning import bootstrap_servers, catalogue_plans, ensure_topics
from .tablestore import DecodedTable


class R3edgeApp(faust.App):
    """faust.App that provisions the catalogue's topics before its consumer subscribes.

    Faust creates only the topics it owns, and a topic created while the consumer subscribes
    is ignored until the next metadata refresh (minutes): the agent would sit idle.
    """

    async def on_first_start(self) -> None:
        await super().on_first_start()
        await ensure_topics(bootstrap_servers(settings.broker), catalogue_plans(settings))


settings: Settings = load_settings()
#: the largest request body the web server reads (aiohttp's ``client_max_size``: a larger one is a 413)
MAX_BODY_BYTES = 64 * 1024

app = R3edgeApp(
    settings.app_id,
    env={},
    broker=settings.broker,
    store=settings.store,
    Table=DecodedTable,  # each stored value decoded once while it is read often (see tablestore)
    datadir=str(settings.data_dir),
    topic_partitions=settings.partitions,
    topic_replication_factor=settings.replication,
    topic_allow_declare=True,
    processing_guarantee=settings.guarantee.value,
    key_serializer="json",
    value_serializer="json",
    web_host=settings.web_host,
    web_bind=settings.web_host,
    web_port=settings.web_port,
    canonical_url=settings.canonical_url,
    web_application_options={"client_max_size": MAX_BODY_BYTES},
    # Faust's own pages would serve table contents and the assignment without any token
    web_router_enabled=False,
    web_tables_enabled=False,
    web_graph_enabled=False,
    web_stats_enabled=False,
    web_metrics_enabled=False,
    # a killed worker's partitions move after 10 s, not Faust's default 60 s
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    autodiscover=["r3edge_streams.agents", "r3edge_streams.web"],
    origin="r3edge_streams",
)
