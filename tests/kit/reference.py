"""Independent computations the tests judge the engine by (TA-Lib's indicators, hand-written rules).

Nothing here imports the engine's code: these are second implementations, written from the
README's stated rules, so a test compares two computations, never the engine with itself.

- ``expected_signals``: the crossings of TA-Lib's indicators over a whole series of rows
  (``[open_ms, open, high, low, close, volume]``), open time -> direction;
- ``exact_sma_crossings``: the same for two simple moving averages in exact rational arithmetic;
- ``reference_trades``: the round trips of a long-only spot session on those signals, each
  fill at the open of the candle after its signal's, slipped and charged as the fill model
  says, sized as a fraction of equity capped by cash / (1 + fee), on a lot step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import talib

BPS = Decimal(10_000)
MINUTE_MS = 60_000  # the rows are one-minute candles


def iso_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def crossings(rows: list[list[Any]], strategy: str, parameters: dict[str, Any]) -> dict[int, str]:
    """Row index -> direction, from TA-Lib's indicators over the whole series (not our code)."""
    closes = np.array([float(r[4]) for r in rows])
    if strategy == "sma_cross":
        a, b = talib.SMA(closes, parameters["fast"]), talib.SMA(closes, parameters["slow"])
        lines = [(a, b, "LONG", "SHORT")]
    else:
        upper, middle, lower = talib.BBANDS(closes, parameters["period"], 2.0, 2.0, 0)
        lines = [(closes, middle, "FLAT", "FLAT"), (closes, upper, "LONG", None), (closes, lower, None, "SHORT")]
    out: dict[int, str] = {}
    for a, b, up, down in lines:
        for i in range(1, len(a)):
            if np.isnan([a[i - 1], a[i], b[i - 1], b[i]]).any():
                continue
            if up and a[i - 1] <= b[i - 1] and a[i] > b[i]:
                out[i] = up
            elif down and a[i - 1] >= b[i - 1] and a[i] < b[i]:
                out[i] = down
    return dict(sorted(out.items()))


def exact_sma_crossings(rows: list[list[Any]], fast: int, slow: int) -> dict[int, str]:
    """Row index -> direction where the simple moving averages of the closes cross, in exact
    rational arithmetic (TA-Lib's floats can tie-break a flat series' equal averages either way)."""
    closes = [Fraction(Decimal(str(r[4]))) for r in rows]
    sums = [Fraction(0)]
    for close in closes:
        sums.append(sums[-1] + close)

    def average(i: int, n: int) -> Fraction | None:
        return (sums[i + 1] - sums[i + 1 - n]) / n if i + 1 >= n else None

    out: dict[int, str] = {}
    for i in range(1, len(closes)):
        a0, a1, b0, b1 = average(i - 1, fast), average(i, fast), average(i - 1, slow), average(i, slow)
        if a0 is None or a1 is None or b0 is None or b1 is None:
            continue
        if a0 <= b0 and a1 > b1:
            out[i] = "LONG"
        elif a0 >= b0 and a1 < b1:
            out[i] = "SHORT"
    return out


def expected_signals(rows: list[list[Any]], strategy: str, parameters: dict[str, Any]) -> dict[str, str]:
    """Open time (ISO 8601) -> direction of every crossing (see ``crossings``)."""
    return {iso_of(int(rows[i][0])): d for i, d in crossings(rows, strategy, parameters).items()}


@dataclass(frozen=True)
class RoundTrip:
    entry_time: str
    exit_time: str
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    fees: Decimal
    pnl: Decimal
    reason: str = "exit"  # the signal's exit, "stop_loss" or "take_profit"


@dataclass(frozen=True)
class Rules:
    capital: Decimal
    fraction: Decimal
    max_fraction: Decimal
    fee_bps: Decimal
    slippage_bps: Decimal
    lot_step: Decimal = Decimal("0.00000001")
    stop_loss_pct: Decimal | None = None
    take_profit_pct: Decimal | None = None


@dataclass(frozen=True)
class Reference:
    trips: list[RoundTrip]
    cash: Decimal  # at the end (a holding left open aside)
    equity: list[Decimal]  # at each row's close from ``start`` on: cash + holding x close
    in_market: int  # rows that closed with a holding


class _Account:
    """A long-only spot session's money by the README's rules, row by row."""

    def __init__(self, rows: list[list[Any]], rules: Rules) -> None:
        self.rows, self.rules = rows, rules
        self.fee, self.slip = rules.fee_bps / BPS, rules.slippage_bps / BPS
        self.cash, self.held = rules.capital, Decimal(0)
        self.entry: tuple[int, Decimal, Decimal] = (0, Decimal(0), Decimal(0))
        self.trips: list[RoundTrip] = []

    def buy(self, i: int) -> None:
        """Enter at row ``i``'s open, sized at row ``i - 1``'s close (the decision's)."""
        rules = self.rules
        notional = min(self.cash * rules.fraction, self.cash * rules.max_fraction, self.cash / (1 + self.fee))
        steps = (notional / Decimal(str(self.rows[i - 1][4])) / rules.lot_step).to_integral_value(ROUND_FLOOR)
        self.held = steps * rules.lot_step
        price = Decimal(str(self.rows[i][1])) * (1 + self.slip)
        paid = self.held * price * self.fee
        self.cash -= self.held * price + paid
        self.entry = (i, price, paid)

    def sell(self, i: int, at: Decimal, reason: str) -> None:
        """Exit at ``at`` during row ``i``: a signal's exit at its open, dated by it; a protective exit
        on its level (or the gapped open), dated by the row's close, when it was decided."""
        price = at * (1 - self.slip)
        paid = self.held * price * self.fee
        self.cash += self.held * price - paid
        start, entry_price, entry_fee = self.entry
        when = int(self.rows[i][0]) + (MINUTE_MS if reason != "exit" else 0)
        self.trips.append(RoundTrip(iso_of(int(self.rows[start][0])), iso_of(when), self.held,
                                    entry_price, price, entry_fee + paid,
                                    (price - entry_price) * self.held - entry_fee - paid, reason))  # fmt: skip
        self.held = Decimal(0)

    def protected(self, i: int) -> bool:
        """Row ``i``'s range against the stop-loss and take-profit: the stop first, the open on a gap."""
        rules, entry_price = self.rules, self.entry[1]
        stop = entry_price * (100 - rules.stop_loss_pct) / 100 if rules.stop_loss_pct is not None else None
        take = entry_price * (100 + rules.take_profit_pct) / 100 if rules.take_profit_pct is not None else None
        opening, high, low = (Decimal(str(v)) for v in (self.rows[i][1], self.rows[i][2], self.rows[i][3]))
        for fired, price, reason in ((stop is not None and opening <= stop, opening, "stop_loss"),
                                     (take is not None and opening >= take, opening, "take_profit"),
                                     (stop is not None and low <= stop, stop, "stop_loss"),
                                     (take is not None and high >= take, take, "take_profit")):  # fmt: skip
            if fired:
                assert price is not None
                self.sell(i, price, reason)
                return True
        return False


def reference_trades(rows: list[list[Any]], start: int, stop: int, signals: dict[int, str], rules: Rules) -> Reference:
    """The round trips of signals at rows ``start`` .. ``stop - 2`` (each filled at the next row's
    open, so inside ``rows[start:stop]``), with the stop-loss and take-profit checked on every row
    a holding is open from its entry's row on, the cash at the end and the equity at each close.
    A holding a protective exit closed is not bought back on the signal that opened it."""
    account = _Account(rows, rules)
    equity: list[Decimal] = []
    in_market = 0
    for i in range(start, stop):
        direction = signals.get(i - 1) if i > start else None  # decided at the close before, filled at this open
        if direction == "LONG" and account.held == 0:
            account.buy(i)
        elif direction == "SHORT" and account.held > 0:
            account.sell(i, Decimal(str(rows[i][1])), "exit")
        if account.held > 0:
            account.protected(i)
        equity.append(account.cash + account.held * Decimal(str(rows[i][4])))
        in_market += account.held > 0
    return Reference(account.trips, account.cash, equity, in_market)
