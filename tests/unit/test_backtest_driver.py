"""The backtest driver on the real candles of ``tests/data``: its round trips, equity curve and time
in market equal an independent computation of the same rules (TA-Lib's SMA crossings, long-only
spot, each fill at the open of the candle after its signal's, slipped and charged by the fill
model, sized as a fraction of equity capped by cash / (1 + fee), on the lot step) written in
``tests/kit/reference.py``."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest

from r3edge_streams.domain.candles import close_time
from r3edge_streams.engines.backtest import Backtest, Outcome
from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.models import SessionMode, SessionSpec, to_json
from tests.kit.reference import Rules, crossings, exact_sma_crossings, reference_trades

DATA = Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json"
ROWS: list[list[Any]] = json.loads(DATA.read_text())
CANDLES = load_ohlcv(DATA, "replay", "UNITTEST/BTC", "1m")
WARMUP = 200  # rows before the run: the strategy's warm-up history
EXACT = Decimal("1e-18")


def spec(parameters: dict[str, Any], fee_bps: str, slippage_bps: str, **risk: str) -> SessionSpec:
    return SessionSpec.from_data({
        "strategy": "sma_cross", "parameters": parameters, "exchange": "replay", "symbol": "UNITTEST/BTC",
        "timeframe": "1m", "mode": SessionMode.PAPER.value, "refresh_seconds": 60,
        "risk": {"capital": "10000", "position_fraction": "0.2", **risk},
        "fills": {"fee_bps": fee_bps, "slippage_bps": slippage_bps},
    })  # fmt: skip


async def run(spec_: SessionSpec, stop: int) -> Outcome:
    return await Backtest(spec_).run(CANDLES[WARMUP:stop], CANDLES[:WARMUP])


@pytest.mark.parametrize(
    ("parameters", "fee_bps", "slippage_bps", "stop"),
    [
        ({"fast": 5, "slow": 20}, "7.5", "0", 3000),
        ({"fast": 10, "slow": 30}, "10", "5", 6000),
        ({"fast": 3, "slow": 50}, "0", "2.5", 4500),
    ],  # fmt: skip
)
async def test_trades_equity_and_exposure_equal_an_independent_computation_of_the_same_rules(
    parameters: dict[str, int], fee_bps: str, slippage_bps: str, stop: int
) -> None:
    outcome = await run(spec(parameters, fee_bps, slippage_bps), stop)
    rules = Rules(Decimal(10000), Decimal("0.2"), Decimal("0.25"), Decimal(fee_bps), Decimal(slippage_bps))
    wanted = reference_trades(
        ROWS, WARMUP, stop, exact_sma_crossings(ROWS, parameters["fast"], parameters["slow"]), rules
    )
    assert len(wanted.trips) >= 20, "enough round trips to mean something"
    made = [(t.entry_time.isoformat(), t.exit_time.isoformat(), t.quantity) for t in outcome.trades]
    assert made == [(w.entry_time, w.exit_time, w.quantity) for w in wanted.trips]
    for trade, expected in zip(outcome.trades, wanted.trips, strict=True):
        assert (trade.entry_price, trade.exit_price) == (expected.entry_price, expected.exit_price)
        assert abs(trade.fees - expected.fees) <= EXACT and abs(trade.pnl - expected.pnl) <= EXACT
    assert [moment for moment, _ in outcome.equity] == [close_time(c) for c in CANDLES[WARMUP:stop]]
    assert all(abs(e - w) <= EXACT for (_, e), w in zip(outcome.equity, wanted.equity, strict=True))
    assert (outcome.candles, outcome.in_market) == (stop - WARMUP, wanted.in_market)


async def test_stop_loss_and_take_profit_exit_as_the_independent_computation_says() -> None:
    parameters, stop = {"fast": 10, "slow": 30}, 8000
    outcome = await run(spec(parameters, "10", "3", stop_loss_pct="0.6", take_profit_pct="0.9"), stop)
    rules = Rules(Decimal(10000), Decimal("0.2"), Decimal("0.25"), Decimal(10), Decimal(3),
                  stop_loss_pct=Decimal("0.6"), take_profit_pct=Decimal("0.9"))  # fmt: skip
    wanted = reference_trades(ROWS, WARMUP, stop, exact_sma_crossings(ROWS, 10, 30), rules)
    reasons = {w.reason for w in wanted.trips}
    assert reasons == {"exit", "stop_loss", "take_profit"}, "every kind of exit is exercised"
    made = [
        (t.entry_time.isoformat(), t.exit_time.isoformat(), t.exit_reason.value, t.quantity) for t in outcome.trades
    ]
    assert made == [(w.entry_time, w.exit_time, w.reason, w.quantity) for w in wanted.trips]
    for trade, expected in zip(outcome.trades, wanted.trips, strict=True):
        assert abs(trade.exit_price - expected.exit_price) <= EXACT  # a level from the average entry: 28 digits
        assert abs(trade.fees - expected.fees) <= EXACT and abs(trade.pnl - expected.pnl) <= EXACT
    assert all(abs(e - w) <= EXACT for (_, e), w in zip(outcome.equity, wanted.equity, strict=True))


def test_the_exact_crossings_are_talibs_where_its_floats_do_not_tie() -> None:
    exact, talib_ = exact_sma_crossings(ROWS, 10, 30), crossings(ROWS, "sma_cross", {"fast": 10, "slow": 30})
    differing = set(exact.items()) ^ set(talib_.items())
    assert len(exact) > 300 and len(differing) <= 4, "two implementations of one rule, apart only on ties"


async def test_no_candles_make_an_empty_outcome() -> None:
    outcome = await Backtest(spec({"fast": 5, "slow": 20}, "10", "0")).run([], CANDLES[:10])
    assert (outcome.trades, outcome.equity, outcome.candles, outcome.position) == ([], [], 0, None)


async def test_the_caller_s_decimal_context_changes_nothing_the_driver_computes() -> None:
    """ccxt's decimal_to_precision leaves the context it runs in rounding half up, for good: the
    driver (and every worker) computes in the engine's own context whatever the caller's is."""
    spec_ = spec({"fast": 10, "slow": 30}, "10", "3", stop_loss_pct="0.6", take_profit_pct="0.9")
    plain = await run(spec_, 3000)
    with localcontext() as hostile:
        hostile.rounding, hostile.prec = ROUND_HALF_UP, 12
        skewed = await run(spec_, 3000)
    assert [to_json(t) for t in skewed.trades] == [to_json(t) for t in plain.trades]
    assert skewed.equity == plain.equity and skewed.position == plain.position


def _spec_of(strategy: str, parameters: dict[str, Any], **risk: str) -> SessionSpec:
    data = to_json(spec({}, "10", "3", **risk))
    return SessionSpec.from_data({**data, "strategy": strategy, "parameters": parameters})


@pytest.mark.parametrize(
    ("strategy", "parameters", "risk"),
    [
        ("sma_cross", {"fast": 10, "slow": 30}, {}),
        ("sma_cross", {"fast": 5, "slow": 20}, {"stop_loss_pct": "0.4", "take_profit_pct": "0.6"}),
        ("sma_cross", {"fast": 10, "slow": 30}, {"trailing_stop_pct": "0.3", "take_profit_pct": "1"}),
        ("rsi_reversion", {"period": 7}, {"stop_loss_pct": "0.5"}),
    ],
)
async def test_skipping_the_quiet_candles_changes_nothing_the_run_makes(
    strategy: str, parameters: dict[str, Any], risk: dict[str, str]
) -> None:
    """The driver's skips against the driver taking every candle through the steps, as the agents do."""
    spec_ = _spec_of(strategy, parameters, **risk)
    fast = await Backtest(spec_).run(CANDLES[WARMUP:3500], CANDLES[:WARMUP])
    every = await Backtest(spec_, every_candle=True).run(CANDLES[WARMUP:3500], CANDLES[:WARMUP])
    assert len(every.trades) >= 10, "enough round trips to mean something"
    assert [to_json(t) for t in fast.trades] == [to_json(t) for t in every.trades]
    assert [to_json(o) for o in fast.orders] == [to_json(o) for o in every.orders]
    assert fast.equity == every.equity and (fast.candles, fast.in_market) == (every.candles, every.in_market)
    assert to_json(fast.position) == to_json(every.position)
