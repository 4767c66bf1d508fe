"""Series checks for backtests: the first problem of a series, and the gaps of a range (hand-written
expectations, then the real 1-minute file against gaps computed from its raw integers)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from r3edge_streams.domain.series import gaps, grid_ceiling, series_problem
from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.models import Candle

DATA = Path(__file__).resolve().parents[2] / "data" / "UNITTEST_BTC-1m.json"
UTC = timezone.utc
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def at(minutes: int, seconds: int = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def candle(moment: datetime, timeframe: str = "1m", **values: str) -> Candle:
    prices = {"open": "10", "high": "12", "low": "9", "close": "11", "volume": "3.5", **values}
    return Candle(
        exchange="binance",
        symbol="BTC/USDT",
        timeframe=timeframe,
        open_time=moment,
        open=Decimal(prices["open"]),
        high=Decimal(prices["high"]),
        low=Decimal(prices["low"]),
        close=Decimal(prices["close"]),
        volume=Decimal(prices["volume"]),
    )


def series(*minutes: int) -> list[Candle]:
    return [candle(at(m)) for m in minutes]


# ------------------------------------------------------------------------------------------ problems


def test_a_sound_series_and_an_empty_one_have_no_problem() -> None:
    assert series_problem(series(0, 1, 2, 5, 6), "1m") is None  # a gap is not a problem of the series
    assert series_problem([], "1m") is None
    assert series_problem([candle(at(0), "5m"), candle(at(5), "5m")], "5m") is None


def test_a_candle_off_the_grid_is_named_with_its_index_and_open_time() -> None:
    rows = [*series(0, 1), candle(at(2, 30))]
    assert series_problem(rows, "1m") == "candle 2 (open time 2024-03-01T12:02:30+00:00): it is off the 1m grid"
    assert series_problem(series(0, 3), "5m") == (
        "candle 0 (open time 2024-03-01T12:00:00+00:00): its timeframe is 1m, not 5m"
    )
    five = [candle(at(0), "5m"), candle(at(7), "5m")]
    assert series_problem(five, "5m") == "candle 1 (open time 2024-03-01T12:07:00+00:00): it is off the 5m grid"


def test_a_repeated_open_time_is_a_problem() -> None:
    assert series_problem(series(0, 1, 1, 2), "1m") == (
        "candle 2 (open time 2024-03-01T12:01:00+00:00): it repeats the open time of the candle before it"
    )


def test_an_out_of_order_candle_is_a_problem() -> None:
    assert series_problem(series(0, 2, 1), "1m") == (
        "candle 2 (open time 2024-03-01T12:01:00+00:00): it opens before the candle before it"
        " (2024-03-01T12:02:00+00:00): out of order"
    )


def test_impossible_values_are_a_problem() -> None:
    rows = [*series(0, 1), candle(at(2), high="8")]
    assert series_problem(rows, "1m") == "candle 2 (open time 2024-03-01T12:02:00+00:00): high 8 is below low 9"
    rows = [candle(at(0), volume="-1")]
    assert series_problem(rows, "1m") == "candle 0 (open time 2024-03-01T12:00:00+00:00): negative volume -1"
    rows = [candle(at(0), close="13")]
    assert series_problem(rows, "1m") == (
        "candle 0 (open time 2024-03-01T12:00:00+00:00): open and close must lie between low and high"
    )


def test_only_the_first_problem_is_told() -> None:
    rows = [candle(at(0)), candle(at(0), high="1"), candle(at(1, 5))]
    problem = series_problem(rows, "1m")
    assert problem is not None and problem.startswith("candle 1 ") and "repeats" in problem


def test_a_series_of_two_markets_and_an_unknown_timeframe_are_problems() -> None:
    other = candle(at(1)).derive(symbol="ETH/USDT")
    assert series_problem([candle(at(0)), other], "1m") == (
        "candle 1 (open time 2024-03-01T12:01:00+00:00): it is of binance ETH/USDT, not binance BTC/USDT"
    )
    assert series_problem(series(0), "7m") == "unknown timeframe '7m'"


# ---------------------------------------------------------------------------------------------- gaps


def test_no_gap_in_a_full_range() -> None:
    assert gaps(series(0, 1, 2, 3), "1m", at(0), at(4)) == []
    assert gaps([], "1m", at(4), at(4)) == []


def test_missing_slots_are_merged_into_ranges() -> None:
    assert gaps(series(0, 1, 4, 5, 7), "1m", at(0), at(8)) == [(at(2), at(4)), (at(6), at(7))]


def test_gaps_at_both_ends_and_an_empty_series() -> None:
    assert gaps(series(2, 3), "1m", at(0), at(6)) == [(at(0), at(2)), (at(4), at(6))]
    assert gaps([], "1m", at(0), at(3)) == [(at(0), at(3))]


def test_range_bounds_off_the_grid_count_only_the_slots_inside() -> None:
    # [12:00:30, 12:05:30) holds the open times 12:01 .. 12:05
    assert gaps(series(1, 2), "1m", at(0, 30), at(5, 30)) == [(at(3), at(6))]
    assert gaps(series(0, 1, 2, 3, 4, 5), "1m", at(0, 30), at(5, 30)) == []


def test_candles_outside_the_range_or_off_the_grid_fill_nothing_and_order_does_not_matter() -> None:
    rows = [candle(at(5)), candle(at(1, 30)), candle(at(-1)), candle(at(0)), candle(at(9))]
    assert gaps(rows, "1m", at(0), at(6)) == [(at(1), at(5))]


def test_coarser_timeframes_use_their_own_grid() -> None:
    rows = [candle(at(0), "5m"), candle(at(15), "5m")]
    assert gaps(rows, "5m", at(0), at(25)) == [(at(5), at(15)), (at(20), at(25))]
    assert gaps(rows, "5m", at(1), at(16)) == [(at(5), at(15))]  # slots 12:05 and 12:10; 12:15 is there
    monday = datetime(2024, 3, 4, tzinfo=UTC)
    weeks = [candle(monday, "1w"), candle(monday + timedelta(weeks=2), "1w")]
    assert gaps(weeks, "1w", monday - timedelta(days=2), monday + timedelta(weeks=3)) == [
        (monday + timedelta(weeks=1), monday + timedelta(weeks=2))
    ]


def test_grid_ceiling() -> None:
    assert grid_ceiling(at(3), "1m") == at(3)
    assert grid_ceiling(at(3, 1), "1m") == at(4)
    assert grid_ceiling(at(3), "5m") == at(5)
    assert grid_ceiling(datetime(2024, 3, 1, tzinfo=UTC), "1w") == datetime(2024, 3, 4, tzinfo=UTC)


# ----------------------------------------------------------------------------------- the real file


@pytest.mark.parametrize("cut", [(0, None), (1000, 4000), (500, 501)])
def test_gaps_of_the_real_file_match_its_raw_open_times(cut: tuple[int, int | None]) -> None:
    raw = [int(row[0]) for row in json.loads(DATA.read_text())]
    candles = load_ohlcv(DATA, "binance", "UNITTEST/BTC", "1m")
    first, last = cut
    start_ms = raw[first] - 5 * 60_000  # five missing minutes before the first candle
    end_ms = (raw[last] if last is not None else raw[-1] + 60_000) + 3 * 60_000  # and three after

    expected = []
    previous = start_ms - 60_000
    for open_ms in [t for t in raw if start_ms <= t < end_ms] + [end_ms]:
        if open_ms - previous > 60_000:
            expected.append((previous + 60_000, open_ms))
        previous = open_ms

    def moment(ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)

    found = gaps(candles, "1m", moment(start_ms), moment(end_ms))
    assert found == [(moment(a), moment(b)) for a, b in expected]
    assert len(found) > 2 or last == 501
    assert series_problem(candles, "1m") is None
