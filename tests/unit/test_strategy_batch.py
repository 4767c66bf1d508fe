"""A strategy's decisions over a whole series (what the backtest driver skips quiet candles by)
equal ``evaluate`` on each window the strategy agent would give it, cut here window by window,
on the real candles of ``tests/data`` and on a series made of ties."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Context, localcontext
from pathlib import Path
from typing import Any, ClassVar

import pytest

from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.models import Candle, Direction
from r3edge_streams.strategies.base import Decision, Strategy
from r3edge_streams.strategies.batch import decisions
from r3edge_streams.strategies.builtin import SmaCross
from r3edge_streams.strategies.indicators import running_sma, sma
from r3edge_streams.strategies.registry import create
from tests.kit.factories import bar

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
REAL = load_ohlcv(DATA, "replay", "UNITTEST/BTC", "1m")[:2500]
_ties = random.Random(7)
TIES = [
    bar(m, str(c), str(c + 1), str(c - 1), str(c))
    for m, c in enumerate(_ties.choice((100, 101, 102)) for _ in range(600))
]


def window_by_window(strategy: Strategy, series: Sequence[Candle], start: int) -> list[Decision | None]:
    """The agent's way: the last ``warmup`` candles up to each candle, evaluated once."""
    keep = max(strategy.warmup, 1)
    return [strategy.evaluate(series[max(0, end - keep) : end]) for end in range(start + 1, len(series) + 1)]


STRATEGIES = [
    ("sma_cross", {"fast": 5, "slow": 20}),
    ("sma_cross", {"fast": 10, "slow": 30}),
    ("sma_cross", {"fast": 1, "slow": 2}),
    ("ma_cross", {"fast": 3, "slow": 9, "average": "sma"}),
    ("ema_cross", {"fast": 5, "slow": 12}),
    ("rsi_reversion", {"period": 7}),
    ("bollinger_breakout", {}),
    ("macd", {}),
]


@pytest.mark.parametrize(("name", "parameters"), STRATEGIES)
@pytest.mark.parametrize("series", [REAL, TIES], ids=["real", "ties"])
@pytest.mark.parametrize("start", [0, 200])
def test_the_series_equals_evaluate_on_every_window(
    name: str, parameters: dict[str, Any], series: list[Candle], start: int
) -> None:
    strategy = create(name, parameters)
    made = decisions(strategy, series, start)
    wanted = window_by_window(strategy, series, start)
    assert made == wanted
    assert sum(d is not None for d in wanted) >= 3, "some decisions to compare"


def test_the_simple_averages_are_computed_at_once_and_fall_back_when_a_sum_would_round() -> None:
    closes = [c.close for c in REAL]
    assert running_sma(closes, 30) == sma(closes, 30)
    strategy = SmaCross({"fast": 5, "slow": 20})
    assert strategy.decisions(REAL) is not None
    with localcontext(Context(prec=6)):  # the sums of these prices cannot be kept exact in 6 digits
        assert running_sma(closes, 30) is None and strategy.decisions(REAL) is None
        assert decisions(strategy, REAL, 0) == window_by_window(strategy, REAL, 0)


class FailsAt:
    """Decides LONG on every candle until the candle at ``minute``, where it raises (or answers nonsense)."""

    name: ClassVar[str] = "fails_at"
    warmup = 3

    def __init__(self, minute: int, nonsense: bool = False) -> None:
        self.minute, self.nonsense = minute, nonsense

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        if candles[-1].open_time >= TIES[self.minute].open_time:
            if self.nonsense:
                return "buy"  # type: ignore[return-value]
            raise ZeroDivisionError("boom")
        return Decision(Direction.LONG)


@pytest.mark.parametrize("nonsense", [False, True])
def test_a_strategy_that_fails_decides_nothing_from_there_on_as_its_halted_instance(nonsense: bool) -> None:
    made = decisions(FailsAt(40, nonsense), TIES[:100], 10)
    assert made == [Decision(Direction.LONG)] * 30 + [None] * 60


def test_a_series_of_the_wrong_length_is_refused() -> None:
    class Short(FailsAt):
        def decisions(self, candles: Sequence[Candle]) -> list[Decision | None]:
            return [None] * (len(candles) - 1)

    with pytest.raises(ValueError, match="gave 99 for 100"):
        decisions(Short(1000), TIES[:100], 0)
