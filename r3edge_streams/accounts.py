"""Exchange accounts: credentials by account name, read from the operator's file, never shown.

In: ``R3EDGE_ACCOUNTS_FILE``, a JSON object ``{"name": {"exchange": "binance", "api_key": "...",
"secret": "...", "password": "...", "limits": {"max_notional": "5000", "max_open_orders": 4},
"requests_per_second": 5}}`` on the worker's disk (mode 0600 is expected; a file others can
read is refused). An account on the ``replay`` exchange is a paper account and needs no keys;
``limits`` (optional) bound what all sessions of the account may commit at once;
``requests_per_second`` (optional, default 5) is the account's request budget on each worker,
shared by all its sessions. Out: :class:`Accounts`. Sessions, commands, tables and views carry
only the account *name*; the secrets stay in this process, wrapped in :class:`Secret`, whose
``repr`` and ``str`` are masked so that no log line or error message can print them.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .domain.exposure import AccountLimits

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_FIELDS = {"exchange", "api_key", "secret", "password", "limits", "requests_per_second"}
DEFAULT_REQUESTS_PER_SECOND = 5.0  # well under every major exchange's limit for one key
_LIMITS = {"max_notional", "max_open_orders"}


class AccountsError(ValueError):
    """The accounts file is unreadable, readable by others, or malformed (never quotes a secret)."""


class Secret:
    """A credential: ``reveal()`` hands it to the exchange client; everything else sees ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class Account:
    """One exchange account: its exchange id and masked credentials."""

    name: str
    exchange: str
    api_key: Secret | None
    secret: Secret | None
    password: Secret | None = None
    limits: AccountLimits = AccountLimits()
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND


class Accounts:
    """The accounts this worker can trade with, by name."""

    def __init__(self, accounts: Mapping[str, Account] | None = None) -> None:
        self._accounts = dict(accounts or {})

    def get(self, name: str) -> Account | None:
        return self._accounts.get(name)

    def names(self) -> list[str]:
        return sorted(self._accounts)

    @classmethod
    def load(cls, path: Path | None) -> Accounts:
        """Read ``path`` (None: no accounts)."""
        if path is None:
            return cls()
        try:
            mode = path.stat().st_mode
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise AccountsError(f"cannot read accounts file {path}: {type(exc).__name__}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AccountsError(f"accounts file {path} is readable by others: chmod 600 it")
        if not isinstance(raw, dict):
            raise AccountsError(f"accounts file {path} must hold a JSON object of accounts")
        return cls({name: _account(name, entry) for name, entry in raw.items()})


def _account(name: str, entry: Any) -> Account:
    if not _NAME_RE.match(name):
        raise AccountsError(f"account name {name!r} must be 1-64 letters, digits, '_', '.' or '-'")
    paper = isinstance(entry, dict) and entry.get("exchange") == "replay"
    needed = {"exchange"} if paper else {"exchange", "api_key", "secret"}
    if not isinstance(entry, dict) or set(entry) - _FIELDS or not needed <= set(entry):
        raise AccountsError(f"account {name!r} must have exchange, api_key, secret (and optionally password, limits)")
    texts = {key: value for key, value in entry.items() if key not in ("limits", "requests_per_second")}
    if not all(isinstance(value, str) and value for value in texts.values()):
        raise AccountsError(f"account {name!r}: every field must be a non-empty string")
    password = entry.get("password")
    return Account(
        name=name,
        exchange=entry["exchange"],
        api_key=Secret(entry["api_key"]) if "api_key" in entry else None,
        secret=Secret(entry["secret"]) if "secret" in entry else None,
        password=Secret(password) if password else None,
        limits=_limits(name, entry.get("limits", {})),
        requests_per_second=_rate(name, entry.get("requests_per_second", DEFAULT_REQUESTS_PER_SECOND)),
    )


def _rate(name: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 < raw <= 1000:
        raise AccountsError(f"account {name!r}: requests_per_second must be a number in (0, 1000]")
    return float(raw)


def _limits(name: str, raw: Any) -> AccountLimits:
    """``{"max_notional": "5000", "max_open_orders": 4}``, each optional and positive."""
    if not isinstance(raw, dict) or set(raw) - _LIMITS:
        raise AccountsError(f"account {name!r}: limits may only name {sorted(_LIMITS)}")
    try:
        notional = Decimal(str(raw["max_notional"])) if "max_notional" in raw else None
    except ArithmeticError:
        raise AccountsError(f"account {name!r}: limits.max_notional must be a number") from None
    orders = raw.get("max_open_orders")
    if (notional is not None and not (notional.is_finite() and notional > 0)) or (
        orders is not None and (not isinstance(orders, int) or isinstance(orders, bool) or orders < 1)
    ):
        raise AccountsError(f"account {name!r}: limits must be positive (max_open_orders a whole number)")
    return AccountLimits(max_notional=notional, max_open_orders=orders)
