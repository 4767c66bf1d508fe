"""The topic catalogue: every Kafka topic of the system, its key, value type and users.

In: nothing (pure data). Out: one typed handle per topic (``MARKETDATA: TopicSpec[Candle]``, ...),
the way every producer and consumer names a topic, so a value of the wrong type for its topic
is a type error; ``CATALOGUE`` and ``SPECS`` (by name) for topic provisioning, :mod:`.topics`
(the Faust topics) and the README's topic table (a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from .domain import rules
from .models import (
    AccountEvent,
    BacktestJob,
    BacktestOutcome,
    Candle,
    DeadLetter,
    ExecutionReport,
    MalformedMessage,
    Notification,
    Order,
    Position,
    RawOrder,
    SessionCommand,
    SessionRequest,
    Signal,
    StrategyCandle,
    StrategyCommand,
    SweepEvent,
    VenueEvent,
    WorkloadCommand,
    decode_key,
    parse_bytes,
)
from .models.base import Record

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class TopicSpec(Generic[R]):
    """One catalogue entry, carrying values of type ``R``. ``key_of`` gives the key a value must
    travel under (None: any); ``check`` is the topic's domain rule (None: the codec suffices);
    ``sealed``: only this deployment's agents write it, so its consumers take only the records they
    sealed (:mod:`.seals`); the command topics that operators and clients write are not."""

    name: str
    key: str
    value_type: type[R]
    producers: str
    consumers: str
    key_of: Callable[[R], str | None] | None = None
    retention: timedelta | None = None
    check: Callable[[R], str | None] | None = None
    sealed: bool = True

    def decode(self, key: bytes | None, value: bytes | None) -> tuple[str | None, R]:
        """The key and record of a message of this topic, or MalformedMessage saying why not: it
        must pass the strict codec, travel under its value's key and keep the topic's rule."""
        decoded_key = decode_key(key)
        record = parse_bytes(self.value_type, value)
        if self.key_of is not None and decoded_key != self.key_of(record):
            raise MalformedMessage(f"key {decoded_key!r} does not match the value's key {self.key_of(record)!r}", "key")
        problem = self.check(record) if self.check is not None else None
        if problem is not None:
            raise MalformedMessage(f"breaks a rule of {self.name}: {problem}")
        return decoded_key, record


def _field(name: str) -> Callable[[Record], str | None]:
    def key_of(value: Record) -> str | None:
        return str(getattr(value, name))

    key_of.__name__ = f"key_of_{name}"
    return key_of


STRATEGYCOMMANDS: TopicSpec[StrategyCommand] = TopicSpec(
    "strategycommands",
    "strategyId",
    StrategyCommand,
    "SessionManager (session start/stop)",
    "StrategyExecutor (activation agent)",
    key_of=_field("strategy_id"),
    check=rules.strategy_command_rule,
)
WORKLOADCOMMANDS: TopicSpec[WorkloadCommand] = TopicSpec(
    "workloadcommands",
    "market (exchange:symbol:timeframe)",
    WorkloadCommand,
    "StrategyExecutor (activation agent), operators",
    "DataCollect (workload agent)",
    key_of=lambda c: c.market,
    check=rules.workload_command_rule,
    sealed=False,  # operators write it too
)
MARKETDATA: TopicSpec[Candle] = TopicSpec(
    "marketdata",
    "market (exchange:symbol:timeframe)",
    Candle,
    "DataCollect (collector)",
    "DataCollect (fan-out agent), dashboards, backtests",
    key_of=lambda c: c.market,
    check=rules.candle_rule,
)
STRATEGIESDATA: TopicSpec[StrategyCandle] = TopicSpec(
    "strategiesdata",
    "strategyId",
    StrategyCandle,
    "DataCollect (fan-out agent)",
    "StrategyExecutor",
    key_of=_field("strategy_id"),
    check=rules.strategy_candle_rule,
)
SESSIONCOMMANDS: TopicSpec[SessionCommand] = TopicSpec(
    "sessioncommands",
    "sessionId",
    SessionCommand,
    "web views, external clients, PositionTracker (auto-stop)",
    "SessionManager",
    key_of=_field("session_id"),
    sealed=False,  # web views and external clients write it
)
SESSIONSREQUEST: TopicSpec[SessionRequest] = TopicSpec(
    "sessionsrequest",
    "sessionId",
    SessionRequest,
    "StrategyExecutor (prices, then signals), Scheduler (ticks), SessionManager (status)",
    "PositionTracker (feeds, positions, auto-stop)",
    key_of=_field("session_id"),
    check=rules.request_rule,
)
SIGNALS: TopicSpec[Signal] = TopicSpec(
    "signals",
    "strategyId (broadcast)",
    Signal,
    "StrategyExecutor",
    "StrategyExecutor (read back after a takeover), NotificationService, dashboard",
    key_of=_field("strategy_id"),
    check=rules.signal_rule,
)
RAWORDERS: TopicSpec[RawOrder] = TopicSpec(
    "raworders",
    "orderId",
    RawOrder,
    "PositionTracker",
    "MoneyManager (sizing agent)",
    key_of=_field("order_id"),
    check=rules.raw_order_rule,
)
ORDERS: TopicSpec[Order] = TopicSpec(
    "orders",
    "orderId",
    Order,
    "MoneyManager (account agent)",
    "OrderManager (order agent)",
    key_of=_field("order_id"),
    check=rules.order_rule,
)
EXECUTIONS: TopicSpec[ExecutionReport] = TopicSpec(
    "executions",
    "sessionId",
    ExecutionReport,
    "OrderManager, MoneyManager (refusals)",
    "PositionTracker, NotificationService",
    key_of=_field("session_id"),
    check=rules.execution_rule,
)
POSITIONS: TopicSpec[Position] = TopicSpec(
    "positions",
    "sessionId",
    Position,
    "PositionTracker",
    "position intake (auto-stop), dashboard, NotificationService",
    key_of=_field("session_id"),
    check=rules.position_rule,
)
ACCOUNTORDERS: TopicSpec[AccountEvent] = TopicSpec(
    "accountorders",
    "account",
    AccountEvent,
    "MoneyManager (sizing agent), OrderManager (an order's end)",
    "MoneyManager (account agent: exposure)",
    key_of=_field("account"),
    check=rules.account_event_rule,
)
VENUEEVENTS: TopicSpec[VenueEvent] = TopicSpec(
    "venueevents",
    "orderId",
    VenueEvent,
    "OrderManager (executor)",
    "OrderManager (order agent)",
    key_of=_field("order_id"),
    check=rules.venue_event_rule,
)
NOTIFICATIONS: TopicSpec[Notification] = TopicSpec(
    "notifications",
    "sessionId (or none)",
    Notification,
    "every service",
    "NotificationService",
    key_of=lambda n: n.session_id,
)
BACKTESTJOBS: TopicSpec[BacktestJob] = TopicSpec(
    "backtestjobs",
    "jobId",
    BacktestJob,
    "backtests and sweeps views, SessionManager (a backtest session's start)",
    "backtest agent (queued; the job pool of the worker that owns it runs it)",
    key_of=_field("job_id"),
    check=rules.backtest_job_rule,
)
BACKTESTEVENTS: TopicSpec[BacktestOutcome] = TopicSpec(
    "backtestevents",
    "jobId",
    BacktestOutcome,
    "the job pool of the worker that ran the job",
    "backtest agent (the job's report or error)",
    key_of=_field("job_id"),
    check=rules.backtest_outcome_rule,
)
SWEEPEVENTS: TopicSpec[SweepEvent] = TopicSpec(
    "sweepevents",
    "sweepId",
    SweepEvent,
    "sweeps view (a sweep's creation), backtest agent (each job's result)",
    "sweep agent (the sweep's results, once each)",
    key_of=_field("sweep_id"),
    check=rules.sweep_event_rule,
)
DEADLETTERS: TopicSpec[DeadLetter] = TopicSpec(
    "deadletters", "source topic name", DeadLetter, "every agent", "operators", retention=timedelta(days=30)
)

CATALOGUE: tuple[TopicSpec[Any], ...] = (
    STRATEGYCOMMANDS,
    WORKLOADCOMMANDS,
    MARKETDATA,
    STRATEGIESDATA,
    SESSIONCOMMANDS,
    SESSIONSREQUEST,
    SIGNALS,
    RAWORDERS,
    ORDERS,
    EXECUTIONS,
    POSITIONS,
    ACCOUNTORDERS,
    VENUEEVENTS,
    NOTIFICATIONS,
    BACKTESTJOBS,
    BACKTESTEVENTS,
    SWEEPEVENTS,
    DEADLETTERS,
)

SPECS: dict[str, TopicSpec[Any]] = {spec.name: spec for spec in CATALOGUE}


def markdown_table() -> str:
    """The README's topic table, generated from the catalogue (a test keeps the README equal)."""
    rows = ["| topic | key | value | producers | consumers | sealed |", "|---|---|---|---|---|---|"]
    for s in CATALOGUE:
        sealed = "yes" if s.sealed else ""
        rows.append(f"| `{s.name}` | {s.key} | `{s.value_type.__name__}` | {s.producers} | {s.consumers} | {sealed} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
