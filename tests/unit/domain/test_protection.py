"""Stop-loss, take-profit and trailing stop on candles: the level each candle fires and its price,
computed here by hand from the candles' four prices (not by the code under test)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from r3edge_streams.domain.protection import Levels, advanced, levels_at_entry, triggered
from r3edge_streams.models.enums import OrderPurpose
from tests.kit.factories import bar, d, risk

LONG = Levels(long=True, stop_loss=d(95), take_profit=d(110))
SHORT = Levels(long=False, stop_loss=d(105), take_profit=d(90))


def test_levels_at_entry_are_the_percent_distances_on_the_loss_and_gain_sides() -> None:
    long = levels_at_entry(True, d(200), risk(stop_loss_pct="2.5", take_profit_pct="10", trailing_stop_pct="1"))
    assert (long.stop_loss, long.take_profit, long.best, long.trailing_stop) == (d(195), d(220), d(200), d(198))
    short = levels_at_entry(False, d(200), risk(stop_loss_pct="2.5", take_profit_pct="10"))
    assert (short.stop_loss, short.take_profit, short.trailing_stop) == (d(205), d(180), None)
    assert levels_at_entry(True, d(200), risk()).stop() is None


@pytest.mark.parametrize(
    ("levels", "prices", "expected"),
    [
        (LONG, ("100", "104", "96", "101"), None),  # inside both levels
        (LONG, ("100", "104", "95", "101"), (OrderPurpose.STOP_LOSS, "95", False)),  # low touches the stop
        (LONG, ("100", "110", "96", "101"), (OrderPurpose.TAKE_PROFIT, "110", False)),  # high touches the target
        (LONG, ("100", "111", "94", "101"), (OrderPurpose.STOP_LOSS, "95", False)),  # both: the stop first
        (LONG, ("93", "99", "92", "98"), (OrderPurpose.STOP_LOSS, "93", True)),  # opens below the stop: at the open
        (LONG, ("112", "115", "94", "113"), (OrderPurpose.TAKE_PROFIT, "112", True)),  # opens above the target
        (SHORT, ("100", "104", "96", "101"), None),
        (SHORT, ("100", "105", "96", "101"), (OrderPurpose.STOP_LOSS, "105", False)),
        (SHORT, ("100", "104", "90", "101"), (OrderPurpose.TAKE_PROFIT, "90", False)),
        (SHORT, ("100", "106", "89", "101"), (OrderPurpose.STOP_LOSS, "105", False)),
        (SHORT, ("107", "108", "99", "100"), (OrderPurpose.STOP_LOSS, "107", True)),
        (SHORT, ("88", "95", "87", "90"), (OrderPurpose.TAKE_PROFIT, "88", True)),
    ],
)
def test_a_candle_fires_the_level_it_reaches_at_the_documented_price(
    levels: Levels, prices: tuple[str, str, str, str], expected: tuple[OrderPurpose, str, bool] | None
) -> None:
    fired = triggered(levels, bar(1, *prices))
    if expected is None:
        assert fired is None
    else:
        assert fired is not None and (fired.purpose, fired.price, fired.gapped) == (
            expected[0],
            d(expected[1]),
            expected[2],
        )


def test_the_trailing_stop_follows_the_best_high_seen_before_the_candle() -> None:
    levels = levels_at_entry(True, d(100), risk(stop_loss_pct="10", trailing_stop_pct="5"))
    candles = [
        bar(1, "100", "110", "99", "109"),
        bar(2, "109", "120", "108", "118"),
        bar(3, "118", "119", "113", "114"),
    ]
    fired = None
    for candle in candles:
        fired = triggered(levels, candle)
        if fired:
            break
        levels = advanced(levels, candle)
    # best high before the third candle: 120; trailing stop 5 % below = 114; its low 113 reaches it
    assert fired is not None and fired.purpose is OrderPurpose.TRAILING_STOP and fired.price == Decimal("114.00")


def test_the_candle_that_makes_a_new_high_cannot_trail_its_own_low() -> None:
    levels = levels_at_entry(True, d(100), risk(trailing_stop_pct="5"))
    # the high 120 and the low 96 in one candle: the stop still trails the entry (95), not 114
    assert triggered(levels, bar(1, "100", "120", "96", "119")) is None
    assert advanced(levels, bar(1, "100", "120", "96", "119")).trailing_stop == Decimal("114.00")


def test_the_tighter_stop_wins_and_a_tie_is_a_stop_loss() -> None:
    trailing_tighter = Levels(long=True, stop_loss=d(90), trailing_pct=d(5), best=d(100))
    assert trailing_tighter.stop() == (d(95), OrderPurpose.TRAILING_STOP)
    tie = Levels(long=True, stop_loss=d(95), trailing_pct=d(5), best=d(100))
    assert tie.stop() == (d(95), OrderPurpose.STOP_LOSS)
    short = Levels(long=False, stop_loss=d(110), trailing_pct=d(5), best=d(100))
    assert short.stop() == (d(105), OrderPurpose.TRAILING_STOP)
