"""Message models: round trips, enum/Decimal/UTC fidelity, and strict rejection of bad payloads."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from r3edge_streams.models import (
    Candle,
    CommandKind,
    DeadLetter,
    Direction,
    ExecutionReport,
    MalformedMessage,
    Notification,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    RawOrder,
    RequestKind,
    SessionCommand,
    SessionMode,
    SessionRequest,
    SessionSpec,
    SessionState,
    SessionStatus,
    Severity,
    Signal,
    StrategyCandle,
    parse_bytes,
    parse_model,
    to_json,
)
from r3edge_streams.models.base import Record

T0 = datetime(2017, 11, 4, 23, 2, tzinfo=timezone.utc)
CANDLE = Candle(
    exchange="binance",
    symbol="UNITTEST/BTC",
    timeframe="1m",
    open_time=T0,
    open=Decimal("0.00162008"),
    high=Decimal("0.00162008"),
    low=Decimal("0.00161"),
    close=Decimal("0.00161"),
    volume=Decimal("108.14853839"),
)
SPEC = SessionSpec(
    strategy="sma_cross",
    parameters={"fast": 5, "slow": 20},
    exchange="binance",
    symbol="BTC/USDT",
    timeframe="1m",
    mode=SessionMode.PAPER,
    refresh_seconds=5,
)
SIGNAL = Signal(
    signal_id="sig-1",
    strategy_id="st-1",
    strategy="sma_cross",
    exchange="binance",
    symbol="BTC/USDT",
    timeframe="1m",
    candle_time=T0,
    direction=Direction.LONG,
    confidence=Decimal("0.75"),
    price=Decimal("43000.10"),
)

EXAMPLES: list[Record] = [
    CANDLE,
    StrategyCandle(strategy_id="st-1", candle=CANDLE),
    SIGNAL,
    SessionCommand(command_id="c-1", session_id="s-1", kind=CommandKind.CREATE, issued_at=T0, spec=SPEC),
    SessionState(
        session_id="s-1",
        spec=SPEC,
        status=SessionStatus.ACTIVE,
        version=3,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=1),
        last_command_id="c-1",
    ),
    SessionRequest(request_id="r-1", session_id="s-1", kind=RequestKind.SIGNAL, at=T0, signal=SIGNAL),
    SessionRequest(request_id="r-2", session_id="s-1", kind=RequestKind.PRICE, at=T0, price=Decimal("0.00161")),
    RawOrder(
        order_id="o-1",
        session_id="s-1",
        exchange="binance",
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        mode=SessionMode.PAPER,
        created_at=T0,
        reason="LONG signal",
        limit_price=Decimal("43000.5"),
    ),
    Order(
        order_id="o-1",
        session_id="s-1",
        exchange="binance",
        symbol="BTC/USDT",
        side=OrderSide.SELL,
        order_type=OrderType.MARKET,
        mode=SessionMode.LIVE,
        quantity=Decimal("0.00012345"),
        created_at=T0,
        client_order_id="r3-o-1",
        reduce_only=True,
    ),
    ExecutionReport(
        execution_id="e-1",
        order_id="o-1",
        session_id="s-1",
        status=OrderStatus.PARTIALLY_FILLED,
        filled_quantity=Decimal("0.0001"),
        at=T0,
        average_price=Decimal("42999.99"),
        fee=Decimal("0.0000001"),
        fee_currency="BTC",
    ),
    Position(
        session_id="s-1",
        exchange="binance",
        symbol="BTC/USDT",
        quantity=Decimal("-0.5"),
        average_entry_price=Decimal("43000"),
        realized_pnl=Decimal("-12.3456789"),
        updated_at=T0,
        stop_loss=Decimal("44000"),
    ),
    Notification(
        notification_id="n-1",
        severity=Severity.CRITICAL,
        category="session.auto_stop",
        title="stopped",
        body="loss limit reached",
        at=T0,
        session_id="s-1",
    ),
    DeadLetter(
        source_topic="sessioncommands",
        partition=3,
        offset=42,
        reason="bad",
        at=T0,
        key='"k"',
        value="{",
        value_encoding="utf-8",
    ),
]


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_round_trip_through_the_strict_codec_is_exact(record: Record) -> None:
    back = parse_bytes(type(record), record.dumps())
    assert back == record
    assert back.dumps() == record.dumps()


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_round_trip_through_faust_loads_restores_enums(record: Record) -> None:
    back = type(record).loads(record.dumps())
    assert back == record
    for name, value in record.asdict().items():
        assert type(getattr(back, name)) is type(value), name


def test_decimals_travel_as_strings_and_keep_every_digit() -> None:
    wire = json.loads(CANDLE.dumps())
    assert wire["volume"] == "108.14853839"
    tiny = Order(
        order_id="o",
        session_id="s",
        exchange="x",
        symbol="A/B",
        side=OrderSide.BUY,
        order_type=OrderType.MARKET,
        mode=SessionMode.PAPER,
        quantity=Decimal("0.000000000000000001"),
        created_at=T0,
        client_order_id="c",
    )
    assert parse_bytes(Order, tiny.dumps()).quantity == Decimal("1E-18")


def test_times_are_utc_and_other_offsets_are_converted() -> None:
    candle = parse_model(Candle, {**to_json(CANDLE), "open_time": "2017-11-05T00:02:00+01:00"})
    assert candle.open_time == T0 and candle.open_time.tzinfo is timezone.utc
    assert to_json(CANDLE)["open_time"] == "2017-11-04T23:02:00Z"


def test_enums_are_enums_after_decoding() -> None:
    state = parse_bytes(SessionState, EXAMPLES[4].dumps())
    assert state.status is SessionStatus.ACTIVE and state.spec.mode is SessionMode.PAPER


def _candle(**changes: Any) -> dict[str, Any]:
    return {**to_json(CANDLE), **changes}


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        (_candle(colour="red"), "colour", "unknown field"),
        ({k: v for k, v in _candle().items() if k != "close"}, "close", "missing required field"),
        (_candle(volume="lots"), "volume", "must be a decimal number"),
        (_candle(volume="NaN"), "volume", "must be finite"),
        (_candle(volume=True), "volume", "must be a decimal number or numeric string"),
        (_candle(open_time="2017-11-04 23:02"), "open_time", "must carry a UTC offset"),
        (_candle(open_time=1509836520000), "open_time", "must be an ISO 8601 timestamp string"),
        (_candle(exchange=7), "exchange", "must be a string"),
    ],
)
def test_malformed_payloads_are_rejected_naming_the_field(payload: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        parse_model(Candle, payload)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_nested_fields_are_named_by_their_path() -> None:
    command = json.loads(EXAMPLES[3].dumps())
    command["spec"]["mode"] = "yolo"
    with pytest.raises(MalformedMessage) as caught:
        parse_bytes(SessionCommand, json.dumps(command).encode())
    assert caught.value.field == "spec.mode"
    assert "backtest, paper, live" in caught.value.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "invalid JSON"),
        (b"{", "invalid JSON"),
        (b"\xff", "invalid JSON"),
        (b"[]", "must be a JSON object, got array"),
        (b'{"x": NaN}', "invalid JSON"),
        (None, "empty value"),
    ],
)
def test_undecodable_bytes_are_rejected(raw: bytes | None, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        parse_bytes(Candle, raw)


def test_a_message_of_another_type_is_rejected() -> None:
    with pytest.raises(MalformedMessage, match="is not Candle"):
        parse_bytes(Candle, SIGNAL.dumps())


def test_invariants_hold_when_records_are_built_in_code() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Candle(**{**CANDLE.asdict(), "open_time": datetime(2017, 11, 4)})
    with pytest.raises(ValueError, match="confidence"):
        Signal(**{**SIGNAL.asdict(), "confidence": Decimal("1.5")})


def test_list_items_are_checked_strictly_too() -> None:
    from r3edge_streams.models import StrategyWindow

    window = StrategyWindow.of("st", [CANDLE, CANDLE.derive(open_time=CANDLE.open_time + timedelta(minutes=1))])
    assert parse_bytes(StrategyWindow, window.dumps()) == window
    payload = json.loads(window.dumps())
    payload["rows"][1][2] = 7
    with pytest.raises(MalformedMessage) as caught:
        parse_model(StrategyWindow, payload)
    assert caught.value.field == "rows[1][2]"


def test_a_window_keeps_its_candles_exactly_and_compactly() -> None:
    from r3edge_streams.models import StrategyWindow

    candles = [
        CANDLE.derive(open_time=CANDLE.open_time + timedelta(minutes=n), close=CANDLE.close + n, previous_open=None)
        for n in range(500)
    ]
    window = StrategyWindow.of("st", candles, generation=2)
    assert window.candles() == candles and window.last_open == candles[-1].open_time
    assert len(window.dumps()) < len(b"".join(c.dumps() for c in candles)) / 3


def test_a_derived_copy_keeps_the_coerced_fields_and_coerces_the_changed_ones() -> None:
    """Faust coerces a list of records on its first read: a copy must not coerce the unchanged
    ones again (a ledger's 200 released holds on every event), and must coerce what it was given."""
    from r3edge_streams.models import AccountExposure, Reservation

    held = [Reservation(order_id=f"o{n}", session_id="s", notional=Decimal(n), held=True) for n in range(3)]
    ledger = AccountExposure(account="a", reservations=held)
    reservations = ledger.reservations  # read: coerced once
    halted = ledger.derive(halted="cannot be read")
    assert halted.reservations is reservations and halted.halted == "cannot be read"
    given = ledger.derive(reservations=[{"order_id": "x", "session_id": "s", "notional": "2.5"}])
    assert given.reservations == [Reservation(order_id="x", session_id="s", notional=Decimal("2.5"))]
    assert ledger.reservations is reservations and to_json(given)["reservations"][0]["order_id"] == "x"


def test_a_ledger_written_in_the_earlier_form_is_read_into_this_one() -> None:
    """The exposure table's values written before the verdicts became a map (order id -> refusal
    reason) and the released holds a list of their own still decode, each verdict and hold kept:
    a redelivered order gets the answer it got then, a late entry counts the holds released since."""
    from r3edge_streams.domain.exposure import committed, earlier_verdict, release_position
    from r3edge_streams.models import AccountExposure, Verdict

    holds = [{"order_id": "e1", "session_id": "s1", "notional": "600", "held": True,
              "since": "2017-11-06T10:00:00+00:00", "until": "2017-11-06T10:05:00+00:00"},
             {"order_id": "e2", "session_id": "s2", "notional": "300", "held": True,
              "since": "2017-11-06T10:01:00+00:00", "until": None}]  # fmt: skip
    written = {"account": "a", "reservations": holds, "open_orders": [], "halted": None,
               "verdicts": [{"order_id": "o1", "accepted": True, "reason": ""},
                            {"order_id": "o2", "accepted": False, "reason": "over its limit"}],
               "__faust": {"ns": AccountExposure._options.namespace}}  # fmt: skip
    ledger = AccountExposure.loads(json.dumps(written).encode())
    assert ledger.verdicts == {"o1": "", "o2": "over its limit"}
    assert earlier_verdict(ledger, "o2") == Verdict(order_id="o2", accepted=False, reason="over its limit")
    assert earlier_verdict(ledger, "o1") == Verdict(order_id="o1", accepted=True)
    assert earlier_verdict(ledger, "o3") is None
    moments = [datetime(2017, 11, 6, 10, minute, tzinfo=timezone.utc) for minute in (2, 5, 8)]
    assert committed(ledger) == Decimal(300)
    assert committed(ledger, moments[0]) == Decimal(900) and committed(ledger, moments[1]) == Decimal(300)
    ledger = release_position(ledger, "s2", moments[2])  # the next release moves the earlier one too
    assert ledger.reservations == [] and [r.order_id for r in ledger.released] == ["e1", "e2"]
    assert committed(ledger) == 0
    assert [committed(ledger, moment) for moment in moments] == [Decimal(900), Decimal(300), Decimal(0)]
    made = AccountExposure(account="a", verdicts=[Verdict(order_id="o4", accepted=True)])  # type: ignore[arg-type]
    assert made.verdicts == {"o4": ""}
