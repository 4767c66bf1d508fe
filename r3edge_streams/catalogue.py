"""The topic catalogue: every Kafka topic of the system, its key, value type and users.

In: nothing (pure data). Out: ``CATALOGUE`` and ``SPECS``, read by topic provisioning,
by :mod:`.topics` (the Faust topics), by the strict consumer in :mod:`.streams`, and by the
README's topic table (a test keeps them equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Optional

from .models import (
    Candle,
    DeadLetter,
    ExecutionReport,
    Notification,
    Order,
    Position,
    RawOrder,
    SessionCommand,
    SessionRequest,
    Signal,
    StrategyCandle,
    StrategyCommand,
    WorkloadCommand,
)
from .models import MalformedMessage, decode_key, parse_bytes
from .models.base import Record
from .domain import rules


@dataclass(frozen=True)
class TopicSpec:
    """One catalogue entry. ``key_of`` gives the key a value must travel under (None: any)."""

    name: str
    key: str
    value_type: type[Record]
    producers: str
    consumers: str
    key_of: Optional[Callable[[Record], Optional[str]]] = None
    retention: Optional[timedelta] = None
    check: Optional[Callable[[Any], Optional[str]]] = None  # the topic's domain rule (None: keeps it)

    def decode(self, key: bytes | None, value: bytes | None) -> tuple[Optional[str], Record]:
        """The key and record of a message of this topic, or MalformedMessage saying why not: it
        must pass the strict codec, travel under its value's key and keep the topic's rule."""
        decoded_key = decode_key(key)
        record = parse_bytes(self.value_type, value)
        if self.key_of is not None and decoded_key != self.key_of(record):
            raise MalformedMessage(f"key {decoded_key!r} does not match the value's key {self.key_of(record)!r}",
                                   "key")
        problem = self.check(record) if self.check is not None else None
        if problem is not None:
            raise MalformedMessage(f"breaks a rule of {self.name}: {problem}")
        return decoded_key, record


def _field(name: str) -> Callable[[Record], Optional[str]]:
    def key_of(value: Record) -> Optional[str]:
        return str(getattr(value, name))

    key_of.__name__ = f"key_of_{name}"
    return key_of


CATALOGUE: tuple[TopicSpec, ...] = (
    TopicSpec("strategycommands", "strategyId", StrategyCommand, "SessionManager (session start/stop)",
              "StrategyExecutor (activation agent)", key_of=_field("strategy_id"), check=rules.strategy_command_rule),
    TopicSpec("workloadcommands", "market (exchange:symbol:timeframe)", WorkloadCommand,
              "StrategyExecutor (activation agent), operators", "DataCollect (workload agent)",
              key_of=lambda c: c.market, check=rules.workload_command_rule),
    TopicSpec("marketdata", "market (exchange:symbol:timeframe)", Candle, "DataCollect (collector)",
              "DataCollect (fan-out agent), dashboards, backtests",
              key_of=lambda c: c.market, check=rules.candle_rule),
    TopicSpec("strategiesdata", "strategyId", StrategyCandle, "DataCollect (fan-out agent)", "StrategyExecutor",
              key_of=_field("strategy_id"), check=rules.strategy_candle_rule),
    TopicSpec("sessioncommands", "sessionId", SessionCommand, "web views, external clients, tracker (auto-stop)",
              "SessionManager",
              key_of=_field("session_id")),
    TopicSpec("sessionsrequest", "sessionId", SessionRequest, "StrategyExecutor, Scheduler, DataCollect",
              "tracker (session feeds, auto-stop), PositionTracker", key_of=_field("session_id"),
              check=rules.request_rule),
    TopicSpec("signals", "strategyId (broadcast)", Signal, "StrategyExecutor",
              "StrategyExecutor (read back after a takeover), NotificationService, dashboard",
              key_of=_field("strategy_id"), check=rules.signal_rule),
    TopicSpec("raworders", "orderId", RawOrder, "PositionTracker", "MoneyManager", key_of=_field("order_id")),
    TopicSpec("orders", "orderId", Order, "MoneyManager", "OrderManager", key_of=_field("order_id")),
    TopicSpec("executions", "sessionId", ExecutionReport, "OrderManager", "PositionTracker, NotificationService",
              key_of=_field("session_id")),
    TopicSpec("positions", "sessionId", Position, "PositionTracker",
              "positions agent (auto-stop), dashboard, NotificationService",
              key_of=_field("session_id"), check=rules.position_rule),
    TopicSpec("notifications", "sessionId (or none)", Notification, "every service", "NotificationService",
              key_of=lambda n: n.session_id),
    TopicSpec("deadletters", "source topic name", DeadLetter, "every agent", "operators",
              retention=timedelta(days=30)),
)

SPECS: dict[str, TopicSpec] = {spec.name: spec for spec in CATALOGUE}


def markdown_table() -> str:
    """The README's topic table, generated from the catalogue (a test keeps the README equal)."""
    rows = ["| topic | key | value | producers | consumers |", "|---|---|---|---|---|"]
    rows += [f"| `{s.name}` | {s.key} | `{s.value_type.__name__}` | {s.producers} | {s.consumers} |" for s in CATALOGUE]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
