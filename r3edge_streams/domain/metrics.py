"""The metrics of a backtest (pure): what its trades and its equity curve say about the strategy.

In: the round trips (``Trade``: net PnL, fees, entry and exit times), the equity curve (one
``(time, equity)`` point per candle close, UTC, oldest first, in the quote currency), the
starting capital, the market's first and last close over the range, the timeframe, and the
number of candles a position was open (time in market). Out: a frozen ``Metrics`` (Decimal,
``timedelta`` and int fields; None where a figure is undefined), and ``metrics_json`` of it.

The formulas, with equity points e_0..e_m (m + 1 of them, one per candle), capital C, trades
with net PnL p_1..p_k, and a candle of length L:

- final_equity = e_m; total_return = e_m / C - 1;
- buy_and_hold_return = last close / first close - 1;
- max_drawdown = max over i of (peak_i - e_i) / peak_i, peak_i = max(e_0..e_i): a positive
  fraction of the peak, 0 when equity never falls; the curve is taken as given (C is not a point);
- max_drawdown_duration = the longest time from a peak's point to the first later point at or
  above it, or to the last point when it is never regained; 0 without a drawdown;
- trades = k; a win has p > 0, a loss p < 0 (a trade of exactly 0 is neither);
  win_rate = wins / k (None without trades);
  profit_factor = sum(winning p) / |sum(losing p)| (None without a losing trade);
  expectancy = (p_1 + .. + p_k) / k, in the quote currency (None without trades);
  average_trade_duration = mean of (exit_time - entry_time) (None without trades);
- net_pnl = p_1 + .. + p_k and fees = the trades' fees summed: both realised, of the closed
  round trips (net_pnl = final_equity - C when the backtest ends flat);
- per-candle simple returns r_i = e_i / e_(i-1) - 1 for i = 1..m (n = m of them), risk-free
  rate 0, periods per year P = 365 days / L (crypto trades every day of the year):
  mean = (r_1 + .. + r_n) / n; sample stdev s = sqrt(sum((r_i - mean)^2) / (n - 1));
  sharpe = mean / s x sqrt(P) (None when n < 2 or s = 0);
  downside deviation d = sqrt(sum(min(r_i, 0)^2) / (n - 1)): target 0, over all n returns,
  divided by n - 1 like s; sortino = mean / d x sqrt(P) (None when n < 2 or d = 0, i.e. no
  candle lost money);
- exposure = time in market / candles in range, the candles in range being the curve's points.

Arithmetic is Decimal with 28 significant digits whatever the caller's context, square roots
by ``Decimal.sqrt``. ValueError for inputs that have no metrics: an empty curve, points out
of order, a capital, close or equity point that is not positive, a time in market outside
0..points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from ..models import Trade
from .candles import timeframe_delta
from .values import value

_ZERO = Decimal(0)
_ONE = Decimal(1)
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
_YEAR = timedelta(days=365)
_MICROSECOND = timedelta(microseconds=1)

EquityPoint = tuple[datetime, Decimal]


@value
class Metrics:
    """A backtest's figures; fractions are plain (0.1 is 10 %), money in the quote currency."""

    total_return: Decimal
    buy_and_hold_return: Decimal
    max_drawdown: Decimal
    max_drawdown_duration: timedelta
    trades: int
    win_rate: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None
    average_trade_duration: timedelta | None
    sharpe: Decimal | None
    sortino: Decimal | None
    exposure: Decimal
    final_equity: Decimal
    net_pnl: Decimal
    fees: Decimal


@value
class _TradeFigures:
    win_rate: Decimal | None
    profit_factor: Decimal | None
    expectancy: Decimal | None
    average_trade_duration: timedelta | None
    net_pnl: Decimal
    fees: Decimal


def compute_metrics(
    trades: Sequence[Trade],
    equity: Sequence[EquityPoint],
    *,
    capital: Decimal,
    first_close: Decimal,
    last_close: Decimal,
    timeframe: str,
    time_in_market: int,
) -> Metrics:
    """The ``Metrics`` of a backtest (see the module's formulas); ValueError for inputs without any."""
    _check(equity, capital, first_close, last_close, time_in_market)
    with localcontext(_CONTEXT):
        periods = _periods_per_year(timeframe)
        drawdown, duration = _drawdown(equity)
        returns = _returns(equity)
        figures = _trade_figures(trades)
        final = equity[-1][1]
        return Metrics(
            total_return=final / capital - _ONE,
            buy_and_hold_return=last_close / first_close - _ONE,
            max_drawdown=drawdown,
            max_drawdown_duration=duration,
            trades=len(trades),
            win_rate=figures.win_rate,
            profit_factor=figures.profit_factor,
            expectancy=figures.expectancy,
            average_trade_duration=figures.average_trade_duration,
            sharpe=_sharpe(returns, periods),
            sortino=_sortino(returns, periods),
            exposure=Decimal(time_in_market) / Decimal(len(equity)),
            final_equity=final,
            net_pnl=figures.net_pnl,
            fees=figures.fees,
        )


def metrics_json(m: Metrics) -> dict[str, str | int | None]:
    """``m`` as JSON values under its field names: Decimals as strings, durations as whole seconds."""
    out: dict[str, str | int | None] = {}
    for spec in fields(m):
        value = getattr(m, spec.name)
        if isinstance(value, Decimal):
            out[spec.name] = str(value)
        elif isinstance(value, timedelta):
            out[spec.name] = _seconds(value)
        else:
            out[spec.name] = value
    return out


def _seconds(duration: timedelta) -> int:
    """``duration`` in seconds, rounded half to even (exact: counted in microseconds)."""
    return int((Decimal(duration // _MICROSECOND) / 1_000_000).to_integral_value(ROUND_HALF_EVEN))


def _check(
    equity: Sequence[EquityPoint], capital: Decimal, first_close: Decimal, last_close: Decimal, time_in_market: int
) -> None:
    if not equity:
        raise ValueError("the equity curve is empty: a backtest has one point per candle")
    if min(capital, first_close, last_close) <= _ZERO:
        raise ValueError(f"capital {capital} and closes {first_close}, {last_close} must be positive")
    for (before, _), (after, _) in zip(equity, equity[1:], strict=False):
        if after <= before:
            raise ValueError(f"equity points out of order: {after.isoformat()} after {before.isoformat()}")
    low = min(value for _, value in equity)
    if low <= _ZERO:
        raise ValueError(f"equity must stay positive for returns and drawdowns (it reached {low})")
    if not 0 <= time_in_market <= len(equity):
        raise ValueError(f"time in market {time_in_market} is not within 0..{len(equity)} candles")


def _periods_per_year(timeframe: str) -> Decimal:
    """P = 365 days / the candle's length, counted in microseconds (exact)."""
    return Decimal(_YEAR // _MICROSECOND) / Decimal(timeframe_delta(timeframe) // _MICROSECOND)


def _drawdown(equity: Sequence[EquityPoint]) -> tuple[Decimal, timedelta]:
    """The deepest fall from a running peak (a fraction of it) and the longest time below a peak."""
    peak_time, peak = equity[0]
    deepest, longest, under = _ZERO, timedelta(0), False
    for time, worth in equity[1:]:
        if worth >= peak:
            if under:
                longest = max(longest, time - peak_time)
            peak_time, peak, under = time, worth, False
        else:
            deepest, under = max(deepest, (peak - worth) / peak), True
    if under:
        longest = max(longest, equity[-1][0] - peak_time)
    return deepest, longest


def _returns(equity: Sequence[EquityPoint]) -> list[Decimal]:
    return [after / before - _ONE for (_, before), (_, after) in zip(equity, equity[1:], strict=False)]


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, _ZERO) / len(values)


def _sharpe(returns: Sequence[Decimal], periods: Decimal) -> Decimal | None:
    if len(returns) < 2:
        return None
    mean = _mean(returns)
    variance = sum(((r - mean) ** 2 for r in returns), _ZERO) / (len(returns) - 1)
    if variance == _ZERO:
        return None
    return mean / variance.sqrt() * periods.sqrt()


def _sortino(returns: Sequence[Decimal], periods: Decimal) -> Decimal | None:
    if len(returns) < 2:
        return None
    downside = sum((min(r, _ZERO) ** 2 for r in returns), _ZERO) / (len(returns) - 1)
    if downside == _ZERO:
        return None
    return _mean(returns) / downside.sqrt() * periods.sqrt()


def _trade_figures(trades: Sequence[Trade]) -> _TradeFigures:
    net = sum((t.pnl for t in trades), _ZERO)
    fees = sum((t.fees for t in trades), _ZERO)
    if not trades:
        return _TradeFigures(None, None, None, None, net, fees)
    won = sum((t.pnl for t in trades if t.pnl > _ZERO), _ZERO)
    lost = sum((t.pnl for t in trades if t.pnl < _ZERO), _ZERO)
    wins = sum(1 for t in trades if t.pnl > _ZERO)
    held = sum((t.exit_time - t.entry_time for t in trades), timedelta(0))
    return _TradeFigures(
        win_rate=Decimal(wins) / Decimal(len(trades)),
        profit_factor=won / abs(lost) if lost != _ZERO else None,
        expectancy=net / len(trades),
        average_trade_duration=held / len(trades),
        net_pnl=net,
        fees=fees,
    )
