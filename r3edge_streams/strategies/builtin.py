"""The built-in strategies: moving-average crossover (SMA/EMA), RSI mean reversion, Bollinger
breakout and MACD. Each decides on crossings at the newest candle, so one crossing gives one
signal (pure; parameters validated at construction).

In: parameters, then windows of closed candles. Out: ``Decision`` or None.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from ..models import Candle, Direction
from .base import (
    Decision,
    StrategyError,
    check_known,
    crossed_above,
    crossed_below,
    decimal_parameter,
    int_parameter,
)
from .indicators import bollinger, ema, macd, rsi, running_sma, sma

#: EMA-based indicators see this many periods of history, so the window start no longer matters
EMA_HISTORY = 10


def _closes(candles: Sequence[Candle]) -> list[Decimal]:
    return [candle.close for candle in candles]


def _last_two(series: Sequence[Decimal | None]) -> tuple[Decimal, Decimal] | None:
    if len(series) < 2 or series[-1] is None or series[-2] is None:
        return None
    return series[-2], series[-1]


class MovingAverageCross:
    """LONG when the fast average crosses above the slow one, SHORT when it crosses below."""

    name: ClassVar[str] = "ma_cross"
    window_parameter: ClassVar[str] = "slow"  # the parameter that sets the window length

    def __init__(self, parameters: Mapping[str, Any], average: str | None = None) -> None:
        check_known(parameters, {"fast", "slow"} | ({"average"} if average is None else set()))
        self.fast = int_parameter(parameters, "fast", 10, 1, 1000)
        self.slow = int_parameter(parameters, "slow", 30, 2, 5000)
        if self.fast >= self.slow:
            raise StrategyError("parameter 'fast' must be smaller than 'slow'")
        self.average = average or parameters.get("average", "sma")
        if self.average not in ("sma", "ema"):
            raise StrategyError("parameter 'average' must be 'sma' or 'ema'")

    @property
    def warmup(self) -> int:
        return self.slow + 1 if self.average == "sma" else self.slow * EMA_HISTORY

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        average = sma if self.average == "sma" else ema
        closes = _closes(candles)
        fast, slow = _last_two(average(closes, self.fast)), _last_two(average(closes, self.slow))
        if fast is None or slow is None:
            return None
        if crossed_above(fast[0], fast[1], slow[0], slow[1]):
            return Decision(Direction.LONG)
        if crossed_below(fast[0], fast[1], slow[0], slow[1]):
            return Decision(Direction.SHORT)
        return None

    def decisions(self, candles: Sequence[Candle]) -> list[Decision | None] | None:
        """``evaluate`` at every candle of a series (on the last ``warmup`` candles up to it), at
        once: the simple averages' running sums are exact, so they are the windows' own. None for
        the exponential average (its seed is the window's start) or a sum that would round."""
        closes = _closes(candles)
        fast = running_sma(closes, self.fast) if self.average == "sma" else None
        slow = running_sma(closes, self.slow) if fast is not None else None
        if fast is None or slow is None:
            return None
        out: list[Decision | None] = [None] * len(closes)
        long, short = Decision(Direction.LONG), Decision(Direction.SHORT)
        # ``crossed_above`` (f0 <= s0 and f1 > s1) is "not above at i - 1, above at i", and
        # ``crossed_below`` the same of "below": each comparison made once per candle
        start = self.slow - 1  # both averages defined from here on
        above = [f > s for f, s in zip(fast[start:], slow[start:], strict=True)]  # type: ignore[operator]
        below = [f < s for f, s in zip(fast[start:], slow[start:], strict=True)]  # type: ignore[operator]
        for i in range(1, len(above)):
            if above[i] and not above[i - 1]:
                out[start + i] = long
            elif below[i] and not below[i - 1]:
                out[start + i] = short
        return out


class SmaCross(MovingAverageCross):
    name: ClassVar[str] = "sma_cross"

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters, "sma")


class EmaCross(MovingAverageCross):
    name: ClassVar[str] = "ema_cross"

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        super().__init__(parameters, "ema")


class RsiReversion:
    """LONG when RSI climbs back above ``lower``, SHORT when it falls back below ``upper``,
    FLAT when it crosses 50 (the mean is reached)."""

    name: ClassVar[str] = "rsi_reversion"
    window_parameter: ClassVar[str] = "period"  # the parameter that sets the window length

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        check_known(parameters, {"period", "lower", "upper"})
        self.period = int_parameter(parameters, "period", 14, 2, 500)
        self.lower = decimal_parameter(parameters, "lower", "30", "1", "49")
        self.upper = decimal_parameter(parameters, "upper", "70", "51", "99")

    @property
    def warmup(self) -> int:
        return self.period * EMA_HISTORY

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        pair = _last_two(rsi(_closes(candles), self.period))
        if pair is None:
            return None
        before, after = pair
        if crossed_above(before, after, self.lower, self.lower):
            return Decision(Direction.LONG)
        if crossed_below(before, after, self.upper, self.upper):
            return Decision(Direction.SHORT)
        half = Decimal(50)
        if crossed_above(before, after, half, half) or crossed_below(before, after, half, half):
            return Decision(Direction.FLAT)
        return None


class BollingerBreakout:
    """LONG when the close breaks above the upper band, SHORT below the lower band,
    FLAT when it crosses back over the middle band."""

    name: ClassVar[str] = "bollinger_breakout"
    window_parameter: ClassVar[str] = "period"  # the parameter that sets the window length

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        check_known(parameters, {"period", "width"})
        self.period = int_parameter(parameters, "period", 20, 2, 1000)
        self.width = decimal_parameter(parameters, "width", "2", "0.1", "10")

    @property
    def warmup(self) -> int:
        return self.period + 1

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        closes = _closes(candles)
        bands = bollinger(closes, self.period, self.width)
        upper, middle, lower = _last_two(bands.upper), _last_two(bands.middle), _last_two(bands.lower)
        if upper is None or middle is None or lower is None or len(closes) < 2:
            return None
        before, after = closes[-2], closes[-1]
        if crossed_above(before, after, upper[0], upper[1]):
            return Decision(Direction.LONG)
        if crossed_below(before, after, lower[0], lower[1]):
            return Decision(Direction.SHORT)
        if crossed_above(before, after, middle[0], middle[1]) or crossed_below(before, after, middle[0], middle[1]):
            return Decision(Direction.FLAT)
        return None


class MacdCross:
    """LONG when the MACD line crosses above its signal line, SHORT when it crosses below."""

    name: ClassVar[str] = "macd"
    window_parameter: ClassVar[str] = "slow"  # the parameter that sets the window length

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        check_known(parameters, {"fast", "slow", "signal"})
        self.fast = int_parameter(parameters, "fast", 12, 1, 500)
        self.slow = int_parameter(parameters, "slow", 26, 2, 1000)
        self.signal = int_parameter(parameters, "signal", 9, 1, 500)
        if self.fast >= self.slow:
            raise StrategyError("parameter 'fast' must be smaller than 'slow'")

    @property
    def warmup(self) -> int:
        return (self.slow + self.signal) * EMA_HISTORY

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        result = macd(_closes(candles), self.fast, self.slow, self.signal)
        line, signal = _last_two(result.macd), _last_two(result.signal)
        if line is None or signal is None:
            return None
        if crossed_above(line[0], line[1], signal[0], signal[1]):
            return Decision(Direction.LONG)
        if crossed_below(line[0], line[1], signal[0], signal[1]):
            return Decision(Direction.SHORT)
        return None


BUILTIN = (MovingAverageCross, SmaCross, EmaCross, RsiReversion, BollingerBreakout, MacdCross)
