"""Indicators agree with TA-Lib (the C library, through its Python wrapper) on the real candles.

Relative tolerance 1e-9, including where the warm-up ends (TA-Lib's NaNs are our Nones).
MACD and its histogram are differences of nearly equal EMAs: there float64 (TA-Lib) loses
digits that Decimal keeps, so their tolerance is 1e-9 of the price scale, not of the result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import talib

from r3edge_streams.strategies.indicators import bollinger, ema, macd, rsi, sma

RAW = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json").read_text(), parse_float=Decimal
)
CLOSES: list[Decimal] = [row[4] for row in RAW]
ARRAY = np.array([float(c) for c in CLOSES])
PRICE_SCALE = float(max(CLOSES))


def agree(mine: Sequence[Decimal | None], reference: np.ndarray, abs_scale: float = 0.0) -> None:
    assert len(mine) == len(reference)
    for i, (ours, theirs) in enumerate(zip(mine, reference, strict=True)):
        if math.isnan(theirs):
            assert ours is None, f"index {i}: TA-Lib is still warming up, we gave {ours}"
            continue
        assert ours is not None, f"index {i}: TA-Lib gives {theirs}, we are still warming up"
        assert math.isclose(float(ours), theirs, rel_tol=1e-9, abs_tol=1e-9 * abs_scale), (i, ours, theirs)


@pytest.mark.parametrize("period", [2, 9, 20, 50])
def test_sma(period: int) -> None:
    agree(sma(CLOSES, period), talib.SMA(ARRAY, period))


@pytest.mark.parametrize("period", [2, 9, 20, 50])
def test_ema(period: int) -> None:
    agree(ema(CLOSES, period), talib.EMA(ARRAY, period))


@pytest.mark.parametrize("period", [2, 14, 21])
def test_rsi(period: int) -> None:
    agree(rsi(CLOSES, period), talib.RSI(ARRAY, period))


@pytest.mark.parametrize(("period", "width"), [(20, "2"), (10, "1.5")])
def test_bollinger(period: int, width: str) -> None:
    bands = bollinger(CLOSES, period, Decimal(width))
    upper, middle, lower = talib.BBANDS(ARRAY, period, float(width), float(width), 0)
    agree(bands.upper, upper)
    agree(bands.middle, middle)
    agree(bands.lower, lower)


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5)])
def test_macd(fast: int, slow: int, signal: int) -> None:
    ours = macd(CLOSES, fast, slow, signal)
    line, signal_line, histogram = talib.MACD(ARRAY, fast, slow, signal)
    agree(ours.macd, line, PRICE_SCALE)
    agree(ours.signal, signal_line, PRICE_SCALE)
    agree(ours.histogram, histogram, PRICE_SCALE)


def test_too_short_series_are_all_warm_up() -> None:
    assert sma(CLOSES[:4], 5) == [None] * 4
    assert rsi(CLOSES[:14], 14) == [None] * 14
    assert macd(CLOSES[:30]).signal == [None] * 30
    with pytest.raises(ValueError):
        ema(CLOSES, 0)
