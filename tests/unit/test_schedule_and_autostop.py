"""Tracking ticks and auto-stop (pure): slots, no burst after a gap, each condition and its command."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from r3edge_streams.domain.autostop import auto_stop_command, auto_stop_reason, session_pnl
from r3edge_streams.domain.schedule import due_ticks, tick_slot
from r3edge_streams.models import (
    AutoStop,
    CommandKind,
    Position,
    RequestKind,
    SessionFeed,
    SessionMode,
    SessionSpec,
    SessionState,
    SessionStatus,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
SPEC = SessionSpec(
    strategy="sma_cross",
    parameters={},
    exchange="binance",
    symbol="BTC/USDT",
    timeframe="1m",
    mode=SessionMode.PAPER,
    refresh_seconds=5,
)


def session(
    session_id: str = "s1", status: SessionStatus = SessionStatus.ACTIVE, refresh: int = 5, **auto: Any
) -> SessionState:
    return SessionState(
        session_id=session_id,
        spec=SPEC.derive(refresh_seconds=refresh, auto_stop=AutoStop(**auto)),
        status=status,
        version=2,
        created_at=T0,
        updated_at=T0,
        last_command_id="c",
        started_at=T0,
    )


def test_slots_are_multiples_of_the_refresh_rate() -> None:
    assert tick_slot(T0 + timedelta(seconds=7.9), 5) == T0 + timedelta(seconds=5)
    assert tick_slot(T0 + timedelta(seconds=59), 60) == T0


def test_each_active_session_is_ticked_once_per_slot_and_others_never() -> None:
    states = [
        session("a"),
        session("b", refresh=60),
        session("c", SessionStatus.SUSPENDED),
        session("d", SessionStatus.STOPPED),
        session("e", SessionStatus.CREATED),
        session("f", SessionStatus.FAILED),
    ]
    first = due_ticks(states, {}, T0 + timedelta(seconds=1))
    assert [(t.session_id, t.at, t.kind) for t in first] == [("a", T0, RequestKind.TICK), ("b", T0, RequestKind.TICK)]
    ticked = {t.session_id: t.at for t in first}
    assert due_ticks(states, ticked, T0 + timedelta(seconds=4)) == []
    later = due_ticks(states, ticked, T0 + timedelta(seconds=6))
    assert [(t.session_id, t.at) for t in later] == [("a", T0 + timedelta(seconds=5))]


def test_after_a_gap_only_the_current_slot_is_ticked_with_a_stable_id() -> None:
    gap = due_ticks([session("a")], {"a": T0}, T0 + timedelta(seconds=63))
    assert [(t.at, t.request_id) for t in gap] == [
        (T0 + timedelta(seconds=60), f"tick:a:{(T0 + timedelta(seconds=60)).isoformat()}")
    ]
    again = due_ticks([session("a")], {}, T0 + timedelta(seconds=64))  # a new owner, same slot
    assert [t.request_id for t in again] == [t.request_id for t in gap]


def position(realized: str, quantity: str = "0", entry: str = "100") -> Position:
    return Position(
        session_id="s1",
        exchange="binance",
        symbol="BTC/USDT",
        quantity=Decimal(quantity),
        average_entry_price=Decimal(entry),
        realized_pnl=Decimal(realized),
        updated_at=T0,
    )


def feed(price: str | None) -> SessionFeed:
    return SessionFeed(
        session_id="s1", signals=0, prices=1, ticks=0, updated_at=T0, last_price=Decimal(price) if price else None
    )


def test_pnl_is_realised_plus_the_open_quantity_at_the_latest_price() -> None:
    assert session_pnl(None, feed("5")) == 0
    assert session_pnl(position("10", "2", "100"), feed("90")) == Decimal("-10")
    assert session_pnl(position("10", "-2", "100"), feed("90")) == Decimal("30")
    assert session_pnl(position("10", "2", "100"), None) == Decimal("10")
    # every fee paid counts against it (entry fees of the open position too): equity less capital
    assert session_pnl(position("10", "2", "100").derive(fees=Decimal("1.5")), feed("90")) == Decimal("-11.5")


def test_duration_auto_stop_counts_from_the_first_start() -> None:
    state = session(max_duration_seconds=60)
    assert auto_stop_reason(state, None, None, T0 + timedelta(seconds=59)) is None
    reason = auto_stop_reason(state, None, None, T0 + timedelta(seconds=60))
    assert reason is not None and "duration of 60 s" in reason


def test_loss_limit_and_gain_target() -> None:
    losing, winning = session(loss_limit=Decimal(50)), session(gain_target=Decimal(50))
    assert auto_stop_reason(losing, feed("80"), position("-10", "1"), T0) is None  # -30
    reason = auto_stop_reason(losing, feed("60"), position("-10", "1"), T0)  # -50
    assert reason is not None and "loss limit 50" in reason and "PnL -50" in reason
    assert auto_stop_reason(winning, feed("120"), position("20", "1"), T0) is None  # +40
    reason = auto_stop_reason(winning, feed("130"), position("20", "1"), T0)
    assert reason is not None and "gain target 50" in reason


def test_only_running_sessions_are_auto_stopped_and_the_stop_is_one_command_per_version() -> None:
    for status in (SessionStatus.CREATED, SessionStatus.STOPPED, SessionStatus.FAILED):
        assert (
            auto_stop_reason(session(status=status, max_duration_seconds=1), None, None, T0 + timedelta(hours=1))
            is None
        )
    suspended = session(status=SessionStatus.SUSPENDED, max_duration_seconds=1)
    assert auto_stop_reason(suspended, None, None, T0 + timedelta(hours=1)) is not None
    first = auto_stop_command(suspended, "why", T0)
    second = auto_stop_command(suspended, "why", T0 + timedelta(seconds=5))
    assert first.command_id == second.command_id == "autostop:s1:v2"
    assert (first.kind, first.reason) == (CommandKind.STOP, "why")
