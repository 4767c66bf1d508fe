"""Technical indicators over a series of closes, in Decimal, with TA-Lib's conventions (pure).

In: a sequence of Decimal values (oldest first) and the indicator's periods. Out: a list of
the same length, ``None`` where the indicator is not defined yet (its warm-up), exactly where
TA-Lib starts its output: SMA at index n-1, EMA at n-1 (seeded with the SMA of the first n),
RSI at n (Wilder's smoothing seeded with plain averages), Bollinger bands at n-1 (population
standard deviation), MACD at slow-1 and its signal at slow+signal-2.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, Inexact, getcontext, localcontext
from typing import NamedTuple

Series = list[Decimal | None]
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _check_period(period: int) -> None:
    if period < 1:
        raise ValueError(f"period must be at least 1, got {period}")


def sma(values: Sequence[Decimal], period: int) -> Series:
    """Simple moving average."""
    _check_period(period)
    out: Series = [None] * len(values)
    total = ZERO
    for i, value in enumerate(values):
        total += value
        if i >= period:
            total -= values[i - period]
        if i >= period - 1:
            out[i] = total / period
    return out


def running_sma(values: Sequence[Decimal], period: int) -> Series | None:
    """``sma`` of a whole series at once, with the running sum kept exact; None if a sum would
    round (then a window's own sum might differ from the running one).

    With exact sums each value equals ``sma`` of any window ending at the same index that holds
    ``period`` values (same sum, same division), so a window-by-window caller and this agree.
    """
    _check_period(period)
    exact = getcontext().copy()
    exact.traps[Inexact] = True
    totals: list[Decimal] = []
    total = ZERO
    try:
        with localcontext(exact):
            for i, value in enumerate(values):
                total += value
                if i >= period:
                    total -= values[i - period]
                totals.append(total)
    except Inexact:
        return None
    return [None if i < period - 1 else totals[i] / period for i in range(len(totals))]


def ema(values: Sequence[Decimal], period: int) -> Series:
    """Exponential moving average, k = 2/(n+1), seeded with the SMA of the first n values."""
    _check_period(period)
    return _ema_from(values, period, 0)


def _ema_from(values: Sequence[Decimal], period: int, start: int) -> Series:
    """EMA whose seed is the SMA of ``values[start:start+period]``."""
    out: Series = [None] * len(values)
    if len(values) < start + period:
        return out
    k = Decimal(2) / (period + 1)
    current = sum(values[start : start + period], ZERO) / period
    out[start + period - 1] = current
    for i in range(start + period, len(values)):
        current = (values[i] - current) * k + current
        out[i] = current
    return out


def rsi(values: Sequence[Decimal], period: int) -> Series:
    """Relative strength index (Wilder), 0..100."""
    _check_period(period)
    out: Series = [None] * len(values)
    if len(values) <= period:
        return out
    changes = [values[i] - values[i - 1] for i in range(1, len(values))]
    gain = sum((c for c in changes[:period] if c > 0), ZERO) / period
    loss = sum((-c for c in changes[:period] if c < 0), ZERO) / period
    out[period] = _rsi_value(gain, loss)
    for i in range(period, len(changes)):
        change = changes[i]
        gain = (gain * (period - 1) + max(change, ZERO)) / period
        loss = (loss * (period - 1) + max(-change, ZERO)) / period
        out[i + 1] = _rsi_value(gain, loss)
    return out


def _rsi_value(gain: Decimal, loss: Decimal) -> Decimal:
    total = gain + loss
    return ZERO if total == 0 else HUNDRED * gain / total


class Bands(NamedTuple):
    upper: Series
    middle: Series
    lower: Series


def bollinger(values: Sequence[Decimal], period: int, width: Decimal) -> Bands:
    """Bollinger bands: SMA ± width × population standard deviation."""
    middle = sma(values, period)
    upper: Series = [None] * len(values)
    lower: Series = [None] * len(values)
    for i, mean in enumerate(middle):
        if mean is None:
            continue
        window = values[i - period + 1 : i + 1]
        variance = sum(((v - mean) ** 2 for v in window), ZERO) / period
        deviation = variance.sqrt() * width
        upper[i], lower[i] = mean + deviation, mean - deviation
    return Bands(upper, middle, lower)


class Macd(NamedTuple):
    macd: Series
    signal: Series
    histogram: Series


def macd(values: Sequence[Decimal], fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    """MACD line (fast EMA − slow EMA), its signal EMA and the histogram, aligned as TA-Lib does.

    Both EMAs first appear at index slow-1: the fast one is seeded with the SMA of the ``fast``
    values ending there, not of the first ``fast`` values.
    """
    for period in (fast, slow, signal):
        _check_period(period)
    if fast > slow:
        fast, slow = slow, fast
    slow_ema = _ema_from(values, slow, 0)
    fast_ema = _ema_from(values, fast, slow - fast)
    line: Series = [f - s if f is not None and s is not None else None for f, s in zip(fast_ema, slow_ema, strict=True)]
    defined = [v for v in line if v is not None]
    signal_part = _ema_from(defined, signal, 0)
    offset = len(line) - len(defined)
    signal_line: Series = [*([None] * offset), *signal_part]
    histogram: Series = [
        m - s if m is not None and s is not None else None for m, s in zip(line, signal_line, strict=True)
    ]
    signal_line = [s if h is not None else None for s, h in zip(signal_line, histogram, strict=True)]
    line = [m if h is not None else None for m, h in zip(line, histogram, strict=True)]
    return Macd(line, signal_line, histogram)
