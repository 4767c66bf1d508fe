"""Signal semantics for spot, case by case, written out as the README states them."""

from __future__ import annotations

import pytest

from r3edge_streams.domain.intents import Blocked, Intent, Situation, decide
from r3edge_streams.models.enums import Direction, OrderPurpose, OrderSide
from tests.kit.factories import d, risk

LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT
ENTRY_BUY = Intent(OrderPurpose.ENTRY, OrderSide.BUY)
EXIT_SELL = Intent(OrderPurpose.EXIT, OrderSide.SELL)
EXIT_BUY = Intent(OrderPurpose.EXIT, OrderSide.BUY)


@pytest.mark.parametrize(
    ("holding", "wanted", "expected"),
    [
        ("0", LONG, ENTRY_BUY),
        ("0", FLAT, None),
        ("0", SHORT, None),  # long-only: a SHORT while flat is nothing to do
        ("1.5", LONG, None),  # a repeated signal does nothing
        ("1.5", SHORT, EXIT_SELL),
        ("1.5", FLAT, EXIT_SELL),
        ("-2", SHORT, None),
        ("-2", LONG, EXIT_BUY),
        ("-2", FLAT, EXIT_BUY),
        ("0", None, None),
    ],
)
def test_spot_signal_semantics(holding: str, wanted: Direction | None, expected: Intent | None) -> None:
    assert decide(wanted, Situation(d(holding)), risk()) == expected


def test_shorts_only_where_the_session_allows_them_and_the_market_can() -> None:
    allowed = risk(allow_short=True)
    assert decide(SHORT, Situation(d(0), can_short=True), allowed) == Intent(OrderPurpose.ENTRY, OrderSide.SELL)
    refused = decide(SHORT, Situation(d(0), can_short=False), allowed)
    assert isinstance(refused, Blocked) and "short" in refused.reason


def test_suspended_sessions_and_full_ones_do_not_enter_but_still_exit() -> None:
    blocked = decide(LONG, Situation(d(0), suspended=True), risk())
    assert isinstance(blocked, Blocked) and "suspended" in blocked.reason
    assert decide(FLAT, Situation(d(1), suspended=True), risk()) == EXIT_SELL
    full = decide(LONG, Situation(d(0), open_positions=1), risk(max_open_positions=1))
    assert isinstance(full, Blocked) and "max_open_positions" in full.reason


def test_nothing_is_decided_while_an_order_is_in_flight_and_a_reversal_comes_after_the_exit() -> None:
    shorts = risk(allow_short=True)
    assert decide(SHORT, Situation(d(1), in_flight=False, can_short=True), shorts) == EXIT_SELL
    assert decide(SHORT, Situation(d(1), in_flight=True, can_short=True), shorts) is None  # the exit travels
    # the exit filled: the same wanted direction, decided again, is the short entry
    assert decide(SHORT, Situation(d(0), can_short=True), shorts) == Intent(OrderPurpose.ENTRY, OrderSide.SELL)
