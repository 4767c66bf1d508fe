"""Property-based: random bytes and random JSON shapes, fed to the decoding of every consumed
topic and to the pure step each agent runs on what decodes, never raise anything but
MalformedMessage (which the agents dead-letter).

Payloads are drawn from each record's own field types, mostly well-typed with hostile values
(calendar edges, huge and negative numbers, odd strings, deep nesting), sometimes of the
wrong JSON type, so that many of them decode and reach the steps.
"""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from faust.types.tuples import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from r3edge_streams.catalogue import SPECS
from r3edge_streams.domain.activation import apply_strategy_command
from r3edge_streams.domain.autostop import auto_stop_reason
from r3edge_streams.domain.execution import on_order, on_venue_event
from r3edge_streams.domain.exposure import AccountLimits
from r3edge_streams.domain.fanout import price_updates, strategy_candles
from r3edge_streams.domain.feeds import apply_request
from r3edge_streams.domain.money import on_account_event, sized
from r3edge_streams.domain.sessions import Applied, apply_command, strategy_changes
from r3edge_streams.domain.tracking import fresh, on_candle, on_report, on_signal, on_status
from r3edge_streams.domain.workloads import apply_workload_command
from r3edge_streams.exchanges.paper import default_rules
from r3edge_streams.models import (
    AccountEvent,
    ActiveStrategy,
    Candle,
    ExecutionReport,
    InFlight,
    MalformedMessage,
    Order,
    OrderFill,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    Position,
    RawOrder,
    SessionCommand,
    SessionRequest,
    SessionState,
    SessionStatus,
    StrategyCandle,
    StrategyCommand,
    VenueEvent,
    Workload,
    WorkloadCommand,
    encode_key,
)
from r3edge_streams.models.base import Record
from r3edge_streams.services import SESSION_MODES, check_spec
from r3edge_streams.strategies.registry import create
from r3edge_streams.strategies.runner import step

CONSUMED = [
    "workloadcommands",
    "marketdata",
    "strategiesdata",
    "sessioncommands",
    "sessionsrequest",
    "positions",
    "strategycommands",
    "raworders",
    "accountorders",
    "orders",
    "venueevents",
    "executions",
]
T0 = datetime(2017, 11, 5, tzinfo=timezone.utc)
KEY_FIELDS = {  # the field a topic's key is (session_id when not named)
    "strategycommands": "strategy_id",
    "strategiesdata": "strategy_id",
    "raworders": "order_id",
    "orders": "order_id",
    "venueevents": "order_id",
    "accountorders": "account",
}
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["", "1m", "7m", "replay", "UNITTEST/BTC", "BTC/USDT", "binance", "sma_cross", "s-1", "\x00", "😀" * 5]
    ),
)
hostile_decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["0", "-1", "1e28", "1e29", "-1e-28", "NaN", "Infinity", "1" * 40, "7123.45", " 5 ", "0x10"]),
)
hostile_times = st.one_of(
    st.datetimes(
        timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5)), timezone(-timedelta(hours=9))])
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "2199-12-31T23:59:59Z"]),
    st.sampled_from(
        [
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00+01:00",
            "1970-01-01T00:00:00Z",
            "2199-12-31T23:59:59-23:59",
            "2017-11-05T12:53:00Z",
            "2017-11-05T12:53:00",
            "not a time",
        ]
    ),
)


def of_type(typ: Any) -> st.SearchStrategy[Any]:
    """A JSON value for a field of type ``typ``: usually well-typed, sometimes anything at all."""
    if typ is Any:
        return json_values
    typed = _typed(typ)
    return st.one_of(typed, typed, typed, typed, json_values)


def _typed(typ: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(typ), typing.get_args(typ)
    if origin is typing.Union:
        return st.one_of(st.none(), *(_typed(a) for a in args if a is not type(None)))
    if origin is list:
        return st.lists(of_type(args[0] if args else Any), max_size=4)
    if origin in (dict, typing.Mapping):
        return st.dictionaries(hostile_text, json_values, max_size=4)
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        return st.one_of(st.sampled_from([m.value for m in typ]), hostile_text)
    if isinstance(typ, type) and issubclass(typ, Record):
        return payloads(typ)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: hostile_text,
        int: st.one_of(st.integers(-5, 5000), st.integers()),
        bool: st.booleans(),
        Decimal: hostile_decimals,
        datetime: hostile_times,
    }
    return simple.get(typ, json_values)


def payloads(model: type[Record]) -> st.SearchStrategy[dict[str, Any]]:
    """JSON objects shaped like ``model``: its required fields, some optional ones, rarely an extra."""
    fields, defaults = model._options.fields, model._options.defaults
    required = {name: st.deferred(lambda t=typ: of_type(t)) for name, typ in fields.items() if name not in defaults}
    optional = {name: st.deferred(lambda t=typ: of_type(t)) for name, typ in fields.items() if name in defaults}
    return st.fixed_dictionaries(required, optional=optional).flatmap(
        lambda d: st.sampled_from([d, d, d, {**d, "unexpected": 1}])
    )


def message(topic: str, key: bytes | None, value: bytes | None, partition: int = 0) -> Message:
    return Message(
        topic=topic,
        partition=partition,
        offset=1,
        timestamp=T0.timestamp(),
        timestamp_type=0,
        headers=[],
        key=key,
        value=value,
        checksum=None,
    )


def decode(topic: str, key: bytes | None, value: bytes | None) -> Record | None:
    """The record the agent of ``topic`` would step on, or None if it is dead-lettered."""
    spec = SPECS[topic]
    try:
        _, record = spec.decode(key, value)
    except MalformedMessage:
        return None
    return record


def _key_of(topic: str, payload: dict[str, Any]) -> bytes | None:
    """The key a well-behaved producer would give ``payload`` (so the key check passes)."""
    try:
        field = {"workloadcommands": None, "marketdata": None}.get(topic, "")
        if field is None:
            return encode_key(f"{payload['exchange']}:{payload['symbol']}:{payload['timeframe']}")
        name = KEY_FIELDS.get(topic, "session_id")
        return encode_key(str(payload[name]))
    except (KeyError, TypeError):
        return encode_key("k")


SESSION = SessionState.loads(
    json.dumps(
        {
            "session_id": "s-1",
            "status": "active",
            "version": 3,
            "created_at": "2017-11-05T00:00:00Z",
            "updated_at": "2017-11-05T00:00:00Z",
            "last_command_id": "c",
            "started_at": "2017-11-05T00:00:00Z",
            "spec": {
                "strategy": "sma_cross",
                "parameters": {"fast": 5, "slow": 20},
                "exchange": "replay",
                "symbol": "UNITTEST/BTC",
                "timeframe": "1m",
                "mode": "paper",
                "refresh_seconds": 5,
                "auto_stop": {"max_duration_seconds": 31_622_400, "loss_limit": "100"},
            },
        }
    ).encode()
)
WORKLOAD = Workload(
    exchange="replay", symbol="UNITTEST/BTC", timeframe="1m", holders={"st": ["s-1"]}, version=1, updated_at=T0
)
INSTANCE = ActiveStrategy(
    strategy_id="st",
    strategy="sma_cross",
    parameters={"fast": 2, "slow": 3},
    exchange="replay",
    symbol="UNITTEST/BTC",
    timeframe="1m",
    sessions=["s-1"],
    version=1,
    updated_at=T0,
)


def _command_steps(command: SessionCommand) -> None:
    """The session agent's step from no session, a created one and an active one, and what the
    tracker then checks of the state it decided (auto-stop at the command's own time)."""
    for before in (None, SESSION.derive(status=SessionStatus.CREATED, started_at=None), SESSION):
        decision = apply_command(before, command, SESSION_MODES, check_spec)
        if isinstance(decision, Applied):
            strategy_changes(before, decision.state)
            auto_stop_reason(decision.state, None, None, command.issued_at)


def _request_steps(request: SessionRequest) -> None:
    """The tracker's feed, auto-stop and position step, from no position."""
    apply_request(None, request, "st")
    auto_stop_reason(SESSION, None, None, request.at)
    if request.signal is not None:
        on_signal(SESSION, None, request.signal, request.at)
    if request.candle is not None:
        on_candle(SESSION, None, request.candle, request.at)
    if request.status is not None:
        on_status(SESSION, fresh(SESSION, T0).derive(quantity=Decimal(1)), request.status, False, request.at)


def _waiting(order_id: str) -> Position:
    """A position whose entry ``order_id`` is in flight."""
    flight = InFlight(order_id=order_id, purpose=OrderPurpose.ENTRY, side=OrderSide.BUY, decided_at=T0)
    return fresh(SESSION, T0).derive(in_flight=flight)


def _venue_news(order_id: str) -> VenueEvent:
    fill = OrderFill(trade_id="t1", quantity=Decimal("0.5"), price=Decimal(100), fee=Decimal(0), at=T0)
    return VenueEvent(event_id="e", order_id=order_id, status=OrderStatus.FILLED, at=T0, fills=[fill])


def _step_on(record: Record) -> None:
    """Run the pure step the record's agent runs, from no state and from a live one."""
    steps: dict[type, Callable[[Any], Any]] = {
        SessionCommand: _command_steps,
        WorkloadCommand: lambda c: [apply_workload_command(w, c) for w in (None, WORKLOAD)],
        StrategyCommand: lambda c: [apply_strategy_command(i, c) for i in (None, INSTANCE)],
        Candle: lambda c: (strategy_candles(c, WORKLOAD), price_updates(c, WORKLOAD.sessions)),
        StrategyCandle: lambda m: step(INSTANCE, None, m.candle, create("sma_cross", {"fast": 2, "slow": 3})),
        SessionRequest: _request_steps,
        ExecutionReport: lambda r: [on_report(SESSION, p, r) for p in (None, _waiting(r.order_id))],
        RawOrder: lambda r: sized(r, default_rules(r.symbol)),
        AccountEvent: lambda e: on_account_event(None, e, AccountLimits(Decimal(5000), 3)),
        Order: lambda o: on_venue_event(on_order(None, o, o.created_at).state, _venue_news(o.order_id)),
        VenueEvent: lambda e: on_venue_event(None, e),
    }
    run = steps.get(type(record))
    if run is not None:
        run(record)


@pytest.mark.parametrize("topic", CONSUMED)
@PROPERTY
@given(key=st.one_of(st.none(), st.binary(max_size=64)), value=st.one_of(st.none(), st.binary(max_size=512)))
def test_random_bytes_are_taken_or_refused_never_raised(topic: str, key: bytes | None, value: bytes | None) -> None:
    record = decode(topic, key, value)
    if record is not None:
        _step_on(record)


@pytest.mark.parametrize("topic", CONSUMED)
@PROPERTY
@given(data=st.data())
def test_random_json_shapes_are_taken_or_refused_and_the_step_never_raises(data: st.DataObject, topic: str) -> None:
    payload = data.draw(payloads(SPECS[topic].value_type))
    key = data.draw(st.one_of(st.just(_key_of(topic, payload)), st.binary(max_size=16), st.none()))
    record = decode(topic, key, json.dumps(payload).encode())
    if record is not None:
        _step_on(record)


@PROPERTY
@given(depth=st.integers(1, 200_000), topic=st.sampled_from(CONSUMED), where=st.sampled_from(["key", "value"]))
def test_any_depth_of_nesting_is_refused_or_taken_never_raised(depth: int, topic: str, where: str) -> None:
    deep = b"[" * depth + b"]" * depth
    key, value = (deep, b"{}") if where == "key" else (encode_key("k"), b'{"x": ' + deep + b"}")
    assert decode(topic, key, value) is None
