"""The worker's long-lived objects, beside the Faust app: what agents and views share in one process.

In: the settings of :mod:`.application`. Out: the session modes this deployment accepts, the
session agent's decisions awaited by the views (``session_outcomes``), the failpoints, the
exchange accounts (secrets masked, never in Kafka, tables or views), and ``check_spec``: what
this deployment can check of a session spec beyond its own fields (strategy, exchange,
account).
"""

from __future__ import annotations

import decimal

from .accounts import Accounts
from .application import settings
from .config import TradingMode
from .domain.exposure import AccountLimits
from .domain.numbers import engine_context
from .domain.sessions import Decision, FieldError, allowed_modes
from .exchanges.registry import is_known_exchange
from .failpoints import Failpoints
from .models import SessionMode, SessionSpec
from .outcomes import Outcomes
from .strategies.base import StrategyError
from .strategies.registry import create as create_strategy

# every agent's money arithmetic runs in the engine's context (set before the worker's tasks start)
decimal.setcontext(engine_context())
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
    if spec.mode is SessionMode.LIVE and account.api_key is None:
        return FieldError("account", f"account {spec.account!r} has no API keys: it can trade on paper only")
    return None


def account_limits(account: str) -> AccountLimits:
    """The exposure limits of ``account`` (none for a session's own paper account)."""
    found = accounts.get(account)
    return found.limits if found is not None else AccountLimits()


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
