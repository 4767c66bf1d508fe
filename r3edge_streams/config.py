"""Settings: one typed object read from ``R3EDGE_*`` environment variables.

In: a mapping of environment variables (``os.environ`` by default).
Out: a frozen :class:`Settings`, or :class:`SettingsError` naming every bad variable.

Faust's own variables (``BROKER_URL``, ``WEB_PORT``, ``F_DATADIR``, ...) are never read:
the application passes an empty environment to Faust, so these settings are the only source.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

PREFIX = "R3EDGE_"
DEFAULT_BROKER = "kafka://127.0.0.1:9092"
_TOPIC_PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]{0,40}$")
#: API token scopes: ``read`` may only read; ``trader`` may also change sessions and strategies
API_SCOPES = ("trader", "read")

T = TypeVar("T")


class TradingMode(StrEnum):
    """What a deployment may do with money: ``paper`` never reaches an exchange's order API."""

    PAPER = "paper"
    LIVE = "live"


class Guarantee(StrEnum):
    """Kafka processing guarantee, as Faust names it."""

    AT_LEAST_ONCE = "at_least_once"
    EXACTLY_ONCE = "exactly_once"


class SettingsError(ValueError):
    """One or more ``R3EDGE_*`` variables are invalid; the message names each of them."""


@dataclass(frozen=True)
class Settings:
    """Every knob of a worker. Field ``x`` comes from ``R3EDGE_X``.

    ``data_dir`` may contain ``{hostname}``, so scaled replicas sharing a volume keep apart.
    """

    broker: str = DEFAULT_BROKER
    embedded_kafka_port: int = 9092  # the run command's own broker (when broker is unset); controller on the next port
    store: str = "rocksdb://"
    data_dir: Path = Path("var/data")
    partitions: int = 8
    replication: int = 1
    guarantee: Guarantee = Guarantee.AT_LEAST_ONCE
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    canonical_url: str = ""
    topic_prefix: str = ""
    trading_mode: TradingMode = TradingMode.PAPER
    log_level: str = "info"
    exchange_urls: tuple[tuple[str, str], ...] = ()
    replay_dir: Path | None = None
    replay_speed: str = "max"
    collect_interval: float = 5.0
    collect_lookback: int = 500
    collect_concurrency: int = 4  # requests in flight per exchange
    collect_round_timeout: float = 30.0  # seconds one market may take in one collector round
    exchange_timeout: float = 10.0
    exchange_time_sync: float = 60.0
    failpoint: tuple[str, int] | None = None  # fault injection only: crash at the n-th pass of a point
    api_tokens: tuple[tuple[str, str], ...] = ()  # (scope, sha256 hex of the token): never the token
    accounts_file: Path | None = None  # exchange credentials by account name (JSON), read by the worker
    command_wait: float = 10.0  # seconds a view waits for the agent's decision before answering 202
    order_timeout: float = 300.0  # seconds an order may stay open on a paper venue before it expires
    backtest_slots: int = 1  # backtest jobs a worker runs at once, each in a process of its own
    #: the key that seals the money path's records (:mod:`.seals`): shared by every worker of the
    #: deployment, never shown; unset, the workers share a key file beside their data folders
    seal_key: str = dataclass_field(default="", repr=False)

    @property
    def app_id(self) -> str:
        """Faust app id: names the consumer group and every changelog topic."""
        return f"{self.topic_prefix}.r3edge" if self.topic_prefix else "r3edge"

    def topic_name(self, name: str) -> str:
        """The Kafka topic name of catalogue topic ``name`` in this environment."""
        return f"{self.topic_prefix}.{name}" if self.topic_prefix else name

    @property
    def seal_key_file(self) -> Path:
        """Where the workers keep the seal key they share when ``seal_key`` is unset: beside the
        data folders (their common parent, e.g. a volume of ``{hostname}`` folders)."""
        return self.data_dir.parent / "seal.key"

    @property
    def embedded_broker(self) -> bool:
        """True when no broker was configured, so the run command starts a local one."""
        return self.broker == DEFAULT_BROKER


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return parse


def _broker(raw: str) -> str:
    urls = [part.strip() for part in raw.split(";") if part.strip()]
    if not urls or not all(re.match(r"^kafka://[^\s/:]+:\d+$", url) for url in urls):
        raise ValueError("must be kafka://host:port (several separated by ';')")
    return ";".join(urls)


def _store(raw: str) -> str:
    if raw not in ("rocksdb://", "memory://"):
        raise ValueError("must be rocksdb:// or memory://")
    return raw


def _topic_prefix(raw: str) -> str:
    if not _TOPIC_PREFIX_RE.match(raw):
        raise ValueError("must be at most 40 letters, digits, '_' or '-'")
    return raw


def _url(raw: str) -> str:
    if not re.match(r"^https?://[^\s/]+(:\d+)?$", raw):
        raise ValueError("must be http(s)://host:port")
    return raw


def _exchange_urls(raw: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        exchange, _, url = item.partition("=")
        if not re.match(r"^[a-z][a-z0-9_]{1,31}$", exchange.strip()):
            raise ValueError(f"{item!r}: must be exchange=http(s)://host[:port]")
        pairs.append((exchange.strip(), _url(url.strip())))
    return tuple(pairs)


def _replay_speed(raw: str) -> str:
    value = raw.lower()
    if value in ("max", "real") or re.match(r"^x?\d+(\.\d+)?$", value):
        return value
    raise ValueError("must be max, real or a factor such as x60")


def _seconds(raw: str) -> float:
    value = float(raw)
    if not 0.05 <= value <= 3600:
        raise ValueError("must be between 0.05 and 3600 seconds")
    return value


def _failpoint(raw: str) -> tuple[str, int]:
    name, _, count = raw.partition(":")
    if not re.match(r"^[a-z_]+\.[a-z_]+$", name) or not count.isdigit() or int(count) < 1:
        raise ValueError("must be point.name:n (crash the n-th time the point is passed)")
    return name, int(count)


def _api_tokens(raw: str) -> tuple[tuple[str, str], ...]:
    """``scope:token`` pairs separated by commas; only each token's SHA-256 is kept."""
    pairs = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        scope, _, token = item.partition(":")
        if scope not in API_SCOPES or len(token) < 16:
            raise ValueError(
                f"each entry must be scope:token with scope {' or '.join(API_SCOPES)} "
                "and a token of at least 16 characters"
            )
        pairs.append((scope, hashlib.sha256(token.encode()).hexdigest()))
    return tuple(pairs)


def _seal_key(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError("must be at least 32 characters (e.g. openssl rand -hex 32)")
    return raw


def _log_level(raw: str) -> str:
    level = raw.lower()
    if level not in ("debug", "info", "warning", "error", "critical"):
        raise ValueError("must be debug, info, warning, error or critical")
    return level


def _enum(kind: type[StrEnum]) -> Callable[[str], StrEnum]:
    def parse(raw: str) -> StrEnum:
        try:
            return kind(raw.lower())
        except ValueError:
            raise ValueError("must be one of " + ", ".join(m.value for m in kind)) from None

    return parse


_PARSERS: dict[str, Callable[[str], object]] = {
    "broker": _broker,
    "embedded_kafka_port": _int_in(1, 65534),
    "store": _store,
    "data_dir": lambda raw: Path(raw.replace("{hostname}", socket.gethostname())),
    "partitions": _int_in(1, 1024),
    "replication": _int_in(1, 16),
    "guarantee": _enum(Guarantee),
    "web_host": str,
    "web_port": _int_in(1, 65535),
    "canonical_url": _url,
    "topic_prefix": _topic_prefix,
    "trading_mode": _enum(TradingMode),
    "log_level": _log_level,
    "exchange_urls": _exchange_urls,
    "replay_dir": Path,
    "replay_speed": _replay_speed,
    "collect_interval": _seconds,
    "collect_lookback": _int_in(1, 100_000),
    "collect_concurrency": _int_in(1, 64),
    "collect_round_timeout": _seconds,
    "exchange_timeout": _seconds,
    "exchange_time_sync": _seconds,
    "failpoint": _failpoint,
    "api_tokens": _api_tokens,
    "accounts_file": Path,
    "command_wait": _seconds,
    "order_timeout": _seconds,
    "backtest_slots": _int_in(1, 64),
    "seal_key": _seal_key,
}


#: settings whose raw value holds secrets: never echoed in errors
_SECRET_FIELDS = frozenset({"api_tokens", "seal_key"})


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return PREFIX + field.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every ``R3EDGE_*`` variable; unknown ``R3EDGE_*`` names are errors too."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    errors: list[str] = []
    for field, parse in _PARSERS.items():
        raw = env.get(env_name(field))
        if raw is None or raw == "":
            continue
        try:
            values[field] = parse(raw.strip())
        except ValueError as exc:
            shown = "<hidden>" if field in _SECRET_FIELDS else repr(raw)
            errors.append(f"{env_name(field)}={shown}: {exc}")
    known = {env_name(field) for field in _PARSERS}
    errors += [f"{name}: unknown setting" for name in sorted(env) if name.startswith(PREFIX) and name not in known]
    if errors:
        raise SettingsError("invalid configuration: " + "; ".join(errors))
    settings = Settings(**values)  # type: ignore[arg-type]
    if not settings.canonical_url:
        settings = _with_canonical_url(settings)
    return settings


def _with_canonical_url(settings: Settings) -> Settings:
    """Where other workers reach this one: the bind host, or the host name on a wildcard bind."""
    host = settings.web_host
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return Settings(**{**settings.__dict__, "canonical_url": f"http://{host}:{settings.web_port}"})
