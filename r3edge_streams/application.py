"""The one Faust application, configured only from :mod:`r3edge_streams.config`.

In: ``R3EDGE_*`` settings. Out: ``app`` (the faust.App) and ``settings``.
Faust is given an empty environment, so its own variables (BROKER_URL, WEB_PORT, ...) cannot
silently override ours. Agents and views are found by autodiscovery when a worker starts.
"""

from __future__ import annotations

import faust

from .config import Settings, TradingMode, load_settings
from .failpoints import Failpoints
from .domain.sessions import Decision, FieldError, allowed_modes
from .outcomes import Outcomes
from .accounts import Accounts
from .exchanges.registry import is_known_exchange
from .models import SessionSpec
from .strategies.base import StrategyError
from .strategies.registry import create as create_strategy
from .provisioning import bootstrap_servers, catalogue_plans, ensure_topics


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

#: Session modes this deployment accepts (live only when R3EDGE_TRADING_MODE=live).
SESSION_MODES = allowed_modes(settings.trading_mode is TradingMode.LIVE)
#: decisions of the session agent, awaited by the session views of the same worker
session_outcomes: Outcomes[Decision] = Outcomes()
failpoints = Failpoints(settings.failpoint)


#: exchange credentials by account name (secrets stay in this process, masked)
accounts = Accounts.load(settings.accounts_file)


def check_spec(spec: SessionSpec) -> FieldError | None:
    """What this deployment can check of ``spec``: its strategy and exchange, and its account."""
    return check_strategy(spec) or check_account(spec)


def check_account(spec: SessionSpec) -> FieldError | None:
    """A named account exists on this worker and belongs to the session's exchange."""
    if spec.account is None:
        return None
    account = accounts.get(spec.account)
    if account is None:
        return FieldError("account", f"no account {spec.account!r} is configured on this deployment")
    if account.exchange != spec.exchange:
        return FieldError("account", f"account {spec.account!r} is for {account.exchange}, not {spec.exchange}")
    return None


def check_strategy(spec: SessionSpec) -> FieldError | None:
    """The exchange of ``spec`` is known, and its strategy exists and accepts its parameters."""
    if not is_known_exchange(spec.exchange):
        return FieldError("exchange", f"unknown exchange {spec.exchange!r}: not a ccxt exchange id nor 'replay'")
    try:
        create_strategy(spec.strategy, spec.parameters)
    except StrategyError as exc:
        if str(exc).startswith("unknown strategy"):
            return FieldError("strategy", str(exc))
        return FieldError(f"parameters.{exc.parameter}" if exc.parameter else "parameters", str(exc))
    return None
