"""A session's feed takes each signal, price and tick once: repeats and stale copies are dropped."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from r3edge_streams.domain.feeds import apply_request
from r3edge_streams.models import Direction, RequestKind, SessionFeed, SessionRequest, Signal
from r3edge_streams.signalmemory import SignalMemory

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def signal_at(minute: int) -> SessionRequest:
    signal = Signal(
        signal_id=f"st:{minute}",
        strategy_id="st",
        strategy="sma_cross",
        exchange="replay",
        symbol="A/B",
        timeframe="1m",
        candle_time=T0 + timedelta(minutes=minute),
        direction=Direction.LONG,
        confidence=Decimal("1"),
        price=Decimal("10.5"),
    )
    return SessionRequest(
        request_id=f"signal:s:{minute}",
        session_id="s",
        kind=RequestKind.SIGNAL,
        at=T0 + timedelta(minutes=minute + 1),
        signal=signal,
    )


def price_at(minute: int, price: str) -> SessionRequest:
    return SessionRequest(
        request_id=f"price:s:{minute}",
        session_id="s",
        kind=RequestKind.PRICE,
        at=T0 + timedelta(minutes=minute),
        price=Decimal(price),
    )


def tick_at(second: int) -> SessionRequest:
    return SessionRequest(
        request_id=f"tick:s:{second}", session_id="s", kind=RequestKind.TICK, at=T0 + timedelta(seconds=second)
    )


def run(*requests: SessionRequest) -> tuple[SessionFeed | None, int]:
    feed: SessionFeed | None = None
    dropped = 0
    for request in requests:
        updated = apply_request(feed, request)
        if updated is None:
            dropped += 1
        feed = updated or feed
    return feed, dropped


def test_each_request_counts_once_and_repeats_are_dropped() -> None:
    feed, dropped = run(
        signal_at(1),
        price_at(2, "1.5"),
        signal_at(1),
        signal_at(3),
        price_at(2, "9"),
        price_at(3, "2.25"),
        tick_at(10),
        tick_at(10),
        tick_at(5),
        signal_at(2),
    )
    assert feed is not None and dropped == 5
    assert (feed.signals, feed.prices, feed.ticks) == (2, 2, 1)
    assert feed.last_signal is not None and feed.last_signal.signal_id == "st:3"
    assert feed.last_price == Decimal("2.25") and feed.last_price_at == T0 + timedelta(minutes=3)
    assert feed.updated_at == T0 + timedelta(minutes=4)


def test_a_request_without_its_payload_is_not_taken() -> None:
    empty_signal = signal_at(1).derive(signal=None)
    empty_price = price_at(1, "1").derive(price=None)
    assert run(empty_signal, empty_price) == (None, 2)


def test_signal_memory_reads_each_partition_once_per_assignment_from_the_first_time_asked() -> None:
    scans: list[tuple[int, datetime]] = []

    async def scan(partition: int, since: datetime) -> dict[str, datetime]:
        scans.append((partition, since))
        return {"st": T0 + timedelta(minutes=5)}

    memory = SignalMemory(scan, margin=timedelta(minutes=1))

    async def ask() -> list[bool]:
        answers = [await memory.signalled(0, T0, "st", T0 + timedelta(minutes=m)) for m in (4, 5, 6)]
        answers.append(await memory.signalled(0, T0 + timedelta(hours=1), "other", T0))
        memory.forget()
        answers.append(await memory.signalled(0, T0 + timedelta(hours=2), "st", T0))
        return answers

    assert asyncio.run(ask()) == [True, True, False, False, True]
    assert scans == [(0, T0 - timedelta(minutes=1)), (0, T0 + timedelta(hours=2) - timedelta(minutes=1))]


def test_after_a_modification_signals_of_the_instance_left_are_not_taken() -> None:
    taken = apply_request(None, signal_at(1), "st")
    assert taken is not None and taken.signals == 1
    assert apply_request(taken, signal_at(2), "st-new") is None
    other = signal_at(3)
    assert other.signal is not None
    switched = other.derive(signal=other.signal.derive(strategy_id="st-new"))
    after = apply_request(taken, switched, "st-new")
    assert after is not None and after.signals == 2 and after.last_signal is not None
    assert after.last_signal.strategy_id == "st-new"
