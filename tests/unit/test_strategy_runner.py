"""One strategy step: windows, one signal per candle, fan-out to sessions, isolated failures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.models import ActiveStrategy, Candle, Direction, RequestKind, StrategyWindow
from r3edge_streams.strategies.base import Decision
from r3edge_streams.strategies.registry import create
from r3edge_streams.strategies.runner import catch_up, fresh, halted, missed, step

CANDLES = load_ohlcv(
    Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json", "replay", "UNITTEST/BTC", "1m"
)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def instance(sessions: list[str], name: str = "sma_cross") -> ActiveStrategy:
    return ActiveStrategy(
        strategy_id="st-1",
        strategy=name,
        parameters={"fast": 5, "slow": 20},
        exchange="replay",
        symbol="UNITTEST/BTC",
        timeframe="1m",
        sessions=sessions,
        version=1,
        updated_at=T0,
    )


def feed(strategy: Any, count: int, sessions: list[str]) -> tuple[StrategyWindow | None, list[Any], list[Any]]:
    window: StrategyWindow | None = None
    signals, requests = [], []
    for candle in CANDLES[:count]:
        result = step(instance(sessions), window, candle, strategy)
        window = result.window or window
        requests += result.requests
        if result.signal:
            signals.append(result.signal)
    return window, signals, requests


def test_signals_equal_the_strategy_run_on_windows_and_reach_every_session() -> None:
    strategy = create("sma_cross", {"fast": 5, "slow": 20})
    window, signals, requests = feed(strategy, 600, ["a", "b"])
    expected = {
        i: d.direction
        for i in range(600)
        if (d := strategy.evaluate(CANDLES[max(0, i - strategy.warmup + 1) : i + 1])) is not None
    }
    assert [(s.candle_time, s.direction) for s in signals] == [(CANDLES[i].open_time, d) for i, d in expected.items()]
    assert window is not None and len(window.candles()) == strategy.warmup and window.candles()[-1] == CANDLES[599]
    assert len({r.request_id for r in requests}) == len(requests) == 2 * 600 + 2 * len(signals)
    signalled = {s.candle_time for s in signals}
    for session in ("a", "b"):  # each candle's price, then the signal of its close: event order
        mine = [r for r in requests if r.session_id == session]
        wanted = [(RequestKind.PRICE, c.open_time) for c in CANDLES[:600]]
        wanted = [w for t in wanted for w in [t, *([(RequestKind.SIGNAL, t[1])] if t[1] in signalled else [])]]
        times = [(r.kind, r.candle.open_time if r.candle else r.signal.candle_time if r.signal else None) for r in mine]
        assert times == wanted
        prices = [r for r in mine if r.kind is RequestKind.PRICE]
        assert [r.candle for r in prices] == CANDLES[:600]  # whole, linked to their predecessors as published


def test_a_redelivered_candle_gives_no_second_signal() -> None:
    strategy = create("sma_cross", {"fast": 5, "slow": 20})
    window, signals, _ = feed(strategy, 600, ["a"])
    last = next(c for c in reversed(CANDLES[:600]) if c.open_time == signals[-1].candle_time)
    assert step(instance(["a"]), window, last, strategy).window is None
    assert step(instance(["a"]), window, CANDLES[599], strategy).window is None


def test_a_new_window_is_warmed_with_history() -> None:
    strategy = create("sma_cross", {"fast": 5, "slow": 20})
    cold = step(instance(["a"]), None, CANDLES[100], strategy)
    warm = step(instance(["a"]), None, CANDLES[100], strategy, history=CANDLES[60:101])
    assert cold.window is not None and len(cold.window.candles()) == 1
    assert warm.window is not None and warm.window.candles() == CANDLES[80:101]


class Exploding:
    name: ClassVar[str] = "exploding"
    warmup = 3

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        raise ZeroDivisionError("boom")


class Garbage:
    name: ClassVar[str] = "garbage"
    warmup = 3

    def evaluate(self, candles: Sequence[Candle]) -> Any:
        return "LONG"


def test_a_failing_or_lying_strategy_is_marked_failed_with_its_error() -> None:
    for strategy, error in (
        (Exploding(), "ZeroDivisionError: boom"),
        (Garbage(), "TypeError: evaluate returned 'LONG'"),
    ):
        result = step(instance(["a"]), None, CANDLES[0], strategy)
        assert result.signal is None and result.window is not None
        assert result.window.failed is not None and result.window.failed.startswith(error)


def test_signal_ids_derive_from_instance_and_candle() -> None:
    strategy = create("sma_cross", {"fast": 5, "slow": 20})
    _, first, _ = feed(strategy, 400, ["a"])
    _, again, _ = feed(strategy, 400, ["a"])
    assert [s.signal_id for s in first] == [s.signal_id for s in again]
    assert first[0].direction in (Direction.LONG, Direction.SHORT)


def test_a_failed_instance_takes_no_candle_until_a_reset_starts_it_afresh() -> None:
    failed = step(instance(["a"]), None, CANDLES[0], Exploding()).window
    assert failed is not None and failed.failed and halted(instance(["a"]), failed)
    reset = instance(["a"]).derive(generation=1)
    assert not halted(reset, failed) and fresh(reset, failed)
    strategy = create("sma_cross", {"fast": 5, "slow": 20})
    again = step(reset, failed, CANDLES[100], strategy, history=CANDLES[60:100])
    assert again.window is not None and again.window.failed is None and again.window.generation == 1
    assert again.window.candles() == CANDLES[80:101]  # warm-up 21, from history: no trace of the failed window
    assert not fresh(reset, again.window) and not halted(reset, again.window)


def linked(candles: Sequence[Candle]) -> list[Candle]:
    """The candles as marketdata carries them: each linked to the one before."""
    return [c.derive(previous_open=candles[i - 1].open_time if i else None) for i, c in enumerate(candles)]


def test_a_window_that_missed_candles_catches_up_on_them_in_order() -> None:
    strategy = create("sma_cross", {"fast": 5, "slow": 20})
    chain = linked(CANDLES[:400])
    window: StrategyWindow | None = None
    for candle in chain[:300]:
        window = step(instance(["a"]), window, candle, strategy).window or window
    assert window is not None and not missed(window, chain[300])
    assert missed(window, chain[305]) and not missed(window, CANDLES[305])  # unlinked: nothing to tell
    gap = catch_up(window, chain[305], CANDLES[290:320])
    assert gap == CANDLES[300:305]
    assert catch_up(window, chain[305], CANDLES[290:303]) is None  # the exchange cannot reach the predecessor
    caught: list[Any] = []
    for candle in [*gap, chain[305]]:
        result = step(instance(["a"]), window, candle, strategy)
        window = result.window or window
        caught += [result.signal] if result.signal else []
    straight: list[Any] = []
    again: StrategyWindow | None = None
    for candle in chain[:306]:
        result = step(instance(["a"]), again, candle, strategy)
        again = result.window or again
        straight += [result.signal] if result.signal and candle.open_time >= CANDLES[300].open_time else []
    assert [s.signal_id for s in caught] == [s.signal_id for s in straight]
    assert again is not None
    assert [(c.open_time, c.close) for c in window.candles()] == [(c.open_time, c.close) for c in again.candles()]
