"""Candle rules on the real 1-minute data: grid, validity, what is new, fetch windows, resampling."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from r3edge_streams.domain.candles import (
    FetchWindow,
    candle_problem,
    floor_time,
    next_window,
    on_grid,
    resample,
    select_new,
)
from r3edge_streams.exchanges.ohlcv_files import OhlcvFileError, load_ohlcv
from r3edge_streams.models import Candle

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
RAW: list[list[object]] = json.loads(DATA.read_text(), parse_float=Decimal)
CANDLES = load_ohlcv(DATA, "binance", "UNITTEST/BTC", "1m")
UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_the_file_loads_exactly() -> None:
    assert len(CANDLES) == 13_681
    assert CANDLES[0].open_time == at("2017-11-04T23:02:00") and CANDLES[-1].open_time == at("2017-11-14T22:59:00")
    assert [str(CANDLES[0].open), str(CANDLES[0].volume)] == ["0.00162008", "108.14853839"]
    assert all(candle_problem(c) is None for c in CANDLES)


def test_csv_files_load_the_same_candles(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    lines = ["open_time,open,high,low,close,volume"] + [",".join(str(v) for v in row) for row in RAW[:50]]
    path.write_text("\n".join(lines) + "\n")
    assert load_ohlcv(path, "binance", "UNITTEST/BTC", "1m") == CANDLES[:50]


def test_broken_files_are_refused_with_the_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[[1509836520000, "0.1", "0.1", "0.1", "abc", "1"]]')
    with pytest.raises(OhlcvFileError, match="bad.json:1"):
        load_ohlcv(path, "binance", "X/Y", "1m")


@pytest.mark.parametrize(
    ("moment", "timeframe", "floor"),
    [
        ("2017-11-04T23:02:59", "1m", "2017-11-04T23:02:00"),
        ("2017-11-04T23:07:00", "5m", "2017-11-04T23:05:00"),
        ("2017-11-04T23:59:59", "4h", "2017-11-04T20:00:00"),
        ("2017-11-08T10:00:00", "1w", "2017-11-06T00:00:00"),  # weeks open on Monday
    ],
)
def test_floor_time(moment: str, timeframe: str, floor: str) -> None:
    assert floor_time(at(moment), timeframe) == at(floor)
    assert on_grid(at(floor), timeframe) and (moment == floor or not on_grid(at(moment), timeframe))


def candle(open_time: str, timeframe: str = "1m", **prices: str) -> Candle:
    values = {"open": "10", "high": "12", "low": "9", "close": "11", "volume": "5", **prices}
    return Candle(
        exchange="binance",
        symbol="UNITTEST/BTC",
        timeframe=timeframe,
        open_time=at(open_time),
        **{k: Decimal(v) for k, v in values.items()},
    )


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (candle("2017-11-04T23:02:30"), "not on the 1m grid"),
        (candle("2017-11-04T23:02:00", high="8"), "below low"),
        (candle("2017-11-04T23:02:00", volume="-1"), "negative volume"),
        (candle("2017-11-04T23:02:00", close="13"), "between low and high"),
        (candle("2017-11-04T23:02:00", low="0", open="0"), "positive"),
        (candle("2017-11-04T23:02:00", timeframe="7m"), "unknown timeframe"),
    ],
)
def test_invalid_candles_are_named(bad: Candle, reason: str) -> None:
    problem = candle_problem(bad)
    assert problem is not None and reason in problem


def test_select_new_keeps_closed_valid_new_candles_in_order_once() -> None:
    rows = CANDLES[100:130]
    now = rows[-1].open_time + timedelta(seconds=30)  # the last one is still forming
    off_grid = Candle(**{**rows[10].asdict(), "open_time": rows[10].open_time + timedelta(seconds=30)})
    shuffled = rows + rows[5:10] + [off_grid]
    random.Random(7).shuffle(shuffled)
    selection = select_new(shuffled, last_open=rows[2].open_time, now=now)
    assert [c.derive(previous_open=None) for c in selection.publish] == rows[3:-1]
    assert [c.previous_open for c in selection.publish] == [r.open_time for r in rows[2:-2]]  # each to the last
    assert selection.forming == 1
    assert selection.duplicates == 3 + 5
    assert selection.invalid == [(off_grid, f"open time {off_grid.open_time.isoformat()} is not on the 1m grid")]
    assert selection.last_open == rows[-2].open_time


def test_select_new_after_everything_was_published_selects_nothing() -> None:
    selection = select_new(CANDLES[:10], last_open=CANDLES[9].open_time, now=at("2030-01-01T00:00:00"))
    assert selection.publish == [] and selection.duplicates == 10


def test_next_window_for_a_new_market_looks_back() -> None:
    now = at("2017-11-05T00:00:30")
    assert next_window(None, "1m", now, lookback=100, max_limit=1000) == FetchWindow(at("2017-11-04T22:20:00"), 101)


def test_next_window_after_an_outage_backfills_from_the_last_published_candle() -> None:
    now = at("2017-11-05T12:00:10")
    window = next_window(at("2017-11-05T02:00:00"), "1m", now, lookback=100, max_limit=1000)
    assert window == FetchWindow(at("2017-11-05T02:01:00"), 600)  # 599 missing closed candles + the forming one
    day_later = next_window(at("2017-11-05T02:00:00"), "1m", now + timedelta(days=1), lookback=100, max_limit=1000)
    assert day_later == FetchWindow(at("2017-11-05T02:01:00"), 1000)  # paged by the exchange's limit


def test_next_window_is_none_until_a_new_candle_can_have_closed() -> None:
    last = at("2017-11-05T12:00:00")
    assert next_window(last, "1m", at("2017-11-05T12:00:59"), 100, 1000) is None
    assert next_window(last, "1m", at("2017-11-05T12:02:00"), 100, 1000) == FetchWindow(at("2017-11-05T12:01:00"), 2)


def _independent_resample(minutes: int) -> dict[int, list[Decimal]]:
    """Bucket the raw rows by integer milliseconds, without the code under test."""
    size = minutes * 60_000
    buckets: dict[int, list[Decimal]] = {}
    for open_ms, o, h, low, c, v in RAW:  # type: ignore[misc]
        key = int(open_ms) // size * size  # type: ignore[call-overload]
        if key not in buckets:
            buckets[key] = [o, h, low, c, v]  # type: ignore[list-item]
        else:
            b = buckets[key]
            buckets[key] = [b[0], max(b[1], h), min(b[2], low), c, b[4] + v]  # type: ignore[type-var, operator]
    return buckets


@pytest.mark.parametrize(("timeframe", "minutes"), [("5m", 5), ("15m", 15), ("1h", 60), ("4h", 240), ("1d", 1440)])
def test_resampling_matches_an_independent_bucketing_and_skips_gaps(timeframe: str, minutes: int) -> None:
    expected = _independent_resample(minutes)
    got = resample(CANDLES, timeframe)
    assert [int(c.open_time.timestamp() * 1000) for c in got] == sorted(expected)
    for c in got:
        assert [c.open, c.high, c.low, c.close, c.volume] == expected[int(c.open_time.timestamp() * 1000)]
    assert sum(c.volume for c in got) == sum(c.volume for c in CANDLES)


def test_rows_that_cannot_be_candles_are_dead_letter_material_not_crashes() -> None:
    from r3edge_streams.domain.candles import InvalidCandle
    from r3edge_streams.exchanges.ccxt_client import _candle

    open_ms = int(CANDLES[3].open_time.timestamp() * 1000)
    nan_row = _candle("binance", "UNITTEST/BTC", "1m", [open_ms, 0.0016, float("nan"), 0.0015, 0.0016, 3.0])
    missing = _candle("binance", "UNITTEST/BTC", "1m", [open_ms + 60_000, 0.0016, 0.0017, 0.0015, None, 3.0])
    assert isinstance(nan_row, InvalidCandle) and "not a finite number" in nan_row.reason
    assert isinstance(missing, InvalidCandle) and "not a number: None" in missing.reason
    good = _candle("binance", "UNITTEST/BTC", "1m", [open_ms + 120_000, 0.00162008, 0.00162008, 0.00161, 0.00161, 1.5])
    assert isinstance(good, Candle) and str(good.open) == "0.00162008"
    selection = select_new([good, nan_row, missing], None, at("2030-01-01T00:00:00"))
    assert selection.publish == [good]
    assert [c for c, _ in selection.invalid] == [nan_row, missing]
