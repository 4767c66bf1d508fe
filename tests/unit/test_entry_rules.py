"""What no message may carry past the codec and the topic rules: deep JSON, calendar edges,
numbers beyond any price, values that break a topic's domain rule; and the window limits."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from r3edge_streams.catalogue import CATALOGUE, SPECS
from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.models import (
    Candle,
    MalformedMessage,
    RequestKind,
    SessionCommand,
    SessionRequest,
    SessionSpec,
    Signal,
    StrategyCandle,
    WorkloadCommand,
    decode_key,
    loads_json,
    parse_bytes,
)
from r3edge_streams.models.enums import Direction, SessionMode, WorkloadAction
from r3edge_streams.services import check_strategy
from r3edge_streams.strategies.base import MAX_WARMUP, StrategyError
from r3edge_streams.strategies.registry import create
from r3edge_streams.strategies.runner import usable_history

CANDLES = load_ohlcv(
    Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json", "replay", "UNITTEST/BTC", "1m"
)
T0 = CANDLES[0].open_time


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_too_deeply_is_malformed_not_a_crash(depth: int) -> None:
    with pytest.raises(MalformedMessage, match="nested deeper"):
        loads_json(_nested(depth))
    with pytest.raises(MalformedMessage, match="key is not JSON"):
        decode_key(_nested(depth).encode())
    wrapped = '{"command_id": ' + _nested(depth) + "}"
    with pytest.raises(MalformedMessage):
        parse_bytes(SessionCommand, wrapped.encode())


def test_json_at_the_depth_limit_still_parses() -> None:
    assert loads_json(_nested(32)) == loads_json(_nested(32))


def _command(issued_at: str) -> bytes:
    return json.dumps({"command_id": "c", "session_id": "s", "kind": "start", "issued_at": issued_at}).encode()


@pytest.mark.parametrize(
    "moment",
    [
        "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
    ],
)
def test_times_at_the_edge_of_the_calendar_are_malformed(moment: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        parse_bytes(SessionCommand, _command(moment))
    assert caught.value.field == "issued_at"


def test_times_inside_the_calendar_are_taken_as_utc() -> None:
    command = parse_bytes(SessionCommand, _command("2199-12-31T23:00:00-00:30"))
    assert command.issued_at == datetime(2199, 12, 31, 23, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("number", ["1" * 29, "1e29", "1e-29", "0." + "0" * 28 + "1"])
def test_numbers_beyond_any_price_or_quantity_are_malformed(number: str) -> None:
    payload = {**json.loads(CANDLES[0].dumps()), "close": number}
    with pytest.raises(MalformedMessage) as caught:
        parse_bytes(Candle, json.dumps(payload).encode())
    assert caught.value.field == "close"


def _rule(topic: str, value: Any) -> str | None:
    check = SPECS[topic].check
    assert check is not None, f"{topic} has a rule"
    return check(value)


def test_every_consumed_topic_has_a_rule() -> None:
    unchecked = {spec.name for spec in CATALOGUE if spec.check is None}
    assert unchecked == {"notifications", "deadletters", "sessioncommands"}


def test_candles_that_break_a_rule_are_refused_on_every_candle_topic() -> None:
    good = CANDLES[1].derive(previous_open=CANDLES[0].open_time)
    assert _rule("marketdata", good) is None
    negative = good.derive(open=Decimal(-5), low=Decimal(-6))
    assert "positive" in (_rule("marketdata", negative) or "")
    assert "positive" in (_rule("strategiesdata", StrategyCandle(strategy_id="x", candle=negative)) or "")
    assert "previous_open" in (_rule("marketdata", good.derive(previous_open=good.open_time)) or "")
    assert "timeframe" in (_rule("marketdata", good.derive(timeframe="7m")) or "")
    assert "symbol" in (_rule("marketdata", good.derive(symbol="not a symbol")) or "")


def _signal(price: Decimal) -> Signal:
    return Signal(
        signal_id="x",
        strategy_id="x",
        strategy="sma_cross",
        exchange="replay",
        symbol="UNITTEST/BTC",
        timeframe="1m",
        candle_time=T0,
        direction=Direction.LONG,
        confidence=Decimal(1),
        price=price,
    )


def test_requests_need_what_their_kind_carries_with_positive_prices() -> None:
    def request(kind: RequestKind, **fields: Any) -> SessionRequest:
        return SessionRequest(request_id="r", session_id="s", kind=kind, at=T0, **fields)

    assert _rule("sessionsrequest", request(RequestKind.PRICE, price=Decimal("1.5"))) is None
    assert _rule("sessionsrequest", request(RequestKind.TICK)) is None
    assert "positive" in (_rule("sessionsrequest", request(RequestKind.PRICE, price=Decimal(-1))) or "")
    assert "positive" in (_rule("sessionsrequest", request(RequestKind.PRICE, price=Decimal(0))) or "")
    assert "needs its price" in (_rule("sessionsrequest", request(RequestKind.PRICE)) or "")
    assert "needs its signal" in (_rule("sessionsrequest", request(RequestKind.SIGNAL)) or "")
    assert "positive" in (_rule("sessionsrequest", request(RequestKind.SIGNAL, signal=_signal(Decimal(-2)))) or "")
    assert "positive" in (_rule("signals", _signal(Decimal(0))) or "")


@pytest.mark.parametrize("timeframe", ["7m", "1M", "", "1m "])
def test_a_workload_command_for_a_timeframe_nobody_collects_is_refused(timeframe: str) -> None:
    command = WorkloadCommand(
        command_id="w",
        action=WorkloadAction.ACQUIRE,
        exchange="replay",
        symbol="UNITTEST/BTC",
        timeframe=timeframe,
        strategy_id="x",
        session_id="s",
        at=T0,
    )
    assert "timeframe" in (_rule("workloadcommands", command) or "")
    assert _rule("workloadcommands", command.derive(timeframe="3m")) is None


def _spec(strategy: str, **parameters: int) -> SessionSpec:
    return SessionSpec(
        strategy=strategy,
        parameters=parameters,
        exchange="replay",
        symbol="UNITTEST/BTC",
        timeframe="3m",
        mode=SessionMode.PAPER,
        refresh_seconds=5,
    )


@pytest.mark.parametrize(
    "strategy, parameters, field",
    [
        ("sma_cross", {"fast": 10, "slow": 5000}, "parameters.slow"),
        ("ema_cross", {"fast": 10, "slow": 300}, "parameters.slow"),
        ("macd", {"slow": 190, "signal": 20}, "parameters.slow"),
        ("rsi_reversion", {"period": 250}, "parameters.period"),
    ],
)
def test_a_strategy_whose_window_would_outgrow_the_limit_is_refused_naming_the_field(
    strategy: str, parameters: dict[str, int], field: str
) -> None:
    error = check_strategy(_spec(strategy, **parameters))
    assert error is not None and error.field == field and str(MAX_WARMUP) in error.message


def test_windows_up_to_the_limit_are_allowed() -> None:
    assert create("sma_cross", {"fast": 10, "slow": MAX_WARMUP - 1}).warmup == MAX_WARMUP
    with pytest.raises(StrategyError):
        create("sma_cross", {"fast": 10, "slow": MAX_WARMUP})


def test_history_warms_a_window_only_when_it_reaches_the_candles_predecessor() -> None:
    linked = CANDLES[50].derive(previous_open=CANDLES[49].open_time)
    assert usable_history(CANDLES[10:50], linked) == CANDLES[10:50]
    assert usable_history(CANDLES[10:49], linked) == []  # the predecessor is missing: start cold
    assert usable_history([*CANDLES[10:30], *CANDLES[31:50]], linked)[-1] == CANDLES[49]
    unlinked = CANDLES[50]
    assert usable_history(CANDLES[10:45], unlinked) == CANDLES[10:45]  # nothing to tell: take what there is
    assert usable_history(CANDLES[40:60], linked) == CANDLES[40:50]  # never the candle itself or later ones
    assert all(
        c.previous_open is None
        for c in usable_history(
            [c.derive(previous_open=c.open_time - timedelta(minutes=1)) for c in CANDLES[10:50]], linked
        )
    )


@pytest.mark.parametrize("text", ['"\\ud800"', '{"\\udc00": 1}', '{"a": ["x\\udfffy"]}'])
def test_strings_that_are_not_unicode_text_are_malformed(text: str) -> None:
    with pytest.raises(MalformedMessage, match="lone surrogate"):
        loads_json(text)


def test_a_candle_the_fan_out_would_refuse_is_no_cursor_for_the_collector() -> None:
    from r3edge_streams.logscan import Skipped, open_time_visit
    from r3edge_streams.models import encode_key

    market = CANDLES[0].market
    last: dict[str, datetime] = {}
    visit, skipped = open_time_visit({market}, last), Skipped()
    skipped.visit(visit, encode_key(market), CANDLES[5].dumps(), "p@1")
    poison = CANDLES[-1].derive(open=Decimal(-5), low=Decimal(-6))  # far in the future, negative
    skipped.visit(visit, encode_key(market), poison.dumps(), "p@2")
    skipped.visit(visit, encode_key("replay:OTHER/BTC:1m"), CANDLES[-1].dumps(), "p@3")  # key of another market
    assert last == {market: CANDLES[5].open_time} and skipped.count == 1 and "positive" in (skipped.first or "")
