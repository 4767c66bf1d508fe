"""Built-in strategies on the real candles: their signals equal crossings computed independently
from TA-Lib's indicators over the whole history; the registry finds built-ins and validates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import talib

from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.models import Direction
from r3edge_streams.strategies.base import Decision, Strategy, StrategyError
from r3edge_streams.strategies.registry import available, create

CANDLES = load_ohlcv(
    Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json", "binance", "UNITTEST/BTC", "1m"
)
LONG, SHORT, FLAT = Direction.LONG, Direction.SHORT, Direction.FLAT


def run(strategy: Strategy, count: int) -> dict[int, Direction]:
    """Feed the strategy as the engine will: a window of the newest ``warmup`` closed candles."""
    out: dict[int, Direction] = {}
    for i in range(count):
        decision = strategy.evaluate(CANDLES[max(0, i - strategy.warmup + 1) : i + 1])
        if decision is not None:
            out[i] = decision.direction
    return out


def crossings(a: np.ndarray, b: np.ndarray, up: Direction, down: Direction) -> dict[int, Direction]:
    """Where series ``a`` crosses ``b`` (both defined at i-1 and i), computed on TA-Lib's output."""
    out: dict[int, Direction] = {}
    for i in range(1, len(a)):
        if np.isnan([a[i - 1], a[i], b[i - 1], b[i]]).any():
            continue
        if a[i - 1] <= b[i - 1] and a[i] > b[i]:
            out[i] = up
        elif a[i - 1] >= b[i - 1] and a[i] < b[i]:
            out[i] = down
    return out


def closes(count: int) -> np.ndarray:
    return np.array([float(c.close) for c in CANDLES[:count]])


def test_sma_cross_signals_are_the_sma_crossings() -> None:
    count = len(CANDLES)
    expected = crossings(talib.SMA(closes(count), 5), talib.SMA(closes(count), 20), LONG, SHORT)
    assert len(expected) > 100
    assert run(create("sma_cross", {"fast": 5, "slow": 20}), count) == expected


def test_ema_cross_signals_are_the_ema_crossings() -> None:
    count = 3000
    expected = crossings(talib.EMA(closes(count), 8), talib.EMA(closes(count), 21), LONG, SHORT)
    assert len(expected) > 20
    assert run(create("ema_cross", {"fast": 8, "slow": 21}), count) == expected


def test_rsi_reversion_signals() -> None:
    count = 4000
    values = talib.RSI(closes(count), 14)
    level = lambda x: np.full(count, float(x))  # noqa: E731
    expected = crossings(values, level(50), FLAT, FLAT)
    expected.update({i: d for i, d in crossings(values, level(30), LONG, SHORT).items() if d is LONG})
    expected.update({i: d for i, d in crossings(values, level(70), LONG, SHORT).items() if d is SHORT})
    assert {LONG, SHORT, FLAT} <= set(expected.values())
    assert run(create("rsi_reversion", {"period": 14, "lower": 30, "upper": 70}), count) == expected


def test_bollinger_breakout_signals() -> None:
    count = len(CANDLES)
    upper, middle, lower = talib.BBANDS(closes(count), 20, 2.0, 2.0, 0)
    price = closes(count)
    expected = crossings(price, middle, FLAT, FLAT)
    expected.update({i: d for i, d in crossings(price, upper, LONG, SHORT).items() if d is LONG})
    expected.update({i: d for i, d in crossings(price, lower, LONG, SHORT).items() if d is SHORT})
    assert {LONG, SHORT, FLAT} <= set(expected.values())
    assert run(create("bollinger_breakout", {"period": 20, "width": 2}), count) == expected


def test_macd_signals_are_the_signal_line_crossings() -> None:
    count = 2500
    line, signal, _ = talib.MACD(closes(count), 12, 26, 9)
    expected = crossings(line, signal, LONG, SHORT)
    assert len(expected) > 20
    assert run(create("macd", {"fast": 12, "slow": 26, "signal": 9}), count) == expected


def test_registry_lists_the_built_ins() -> None:
    assert {"sma_cross", "ema_cross", "ma_cross", "rsi_reversion", "bollinger_breakout", "macd"} <= set(available())


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [
        ("nope", {}, "unknown strategy 'nope'"),
        ("sma_cross", {"fast": 20, "slow": 5}, "'fast' must be smaller"),
        ("sma_cross", {"fats": 5}, "unknown parameter 'fats'"),
        ("rsi_reversion", {"lower": 60}, "'lower' must be a number between 1 and 49"),
        ("macd", {"signal": "9"}, "'signal' must be an integer"),
        ("ma_cross", {"average": "wma"}, "'average' must be 'sma' or 'ema'"),
    ],
)
def test_invalid_strategies_are_refused_with_the_reason(name: str, parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        create(name, parameters)


def test_decisions_hold_their_invariants() -> None:
    with pytest.raises(ValueError):
        Decision(Direction.LONG, confidence=__import__("decimal").Decimal("1.2"))
    with pytest.raises(TypeError):
        Decision("LONG")  # type: ignore[arg-type]
