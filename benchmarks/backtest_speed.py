"""Speed of the backtest driver against backtesting.py, side by side in one run, on the same data
and the same strategy: an SMA crossover (long only, fills at the next candle's open, a fee per
fill) over the real candles of ``tests/data`` (13,681 one-minute candles, the first 100 as warm-up).

Prints candles per second of each (the best of ``--repeat`` runs, after one warm-up run, the two
taking turns), the ratio (driver / backtesting.py: at least 1 is the target) and each engine's
number of trades (the same rules, so about the same number). backtesting.py is a benchmark-only dependency
(``pip install -e .[bench]``). It asserts nothing.

    .venv/bin/python benchmarks/backtest_speed.py [--fast 10] [--slow 30] [--repeat 3] [--profile]
    .venv/bin/python benchmarks/backtest_speed.py --grid [--repeat 3]
    .venv/bin/python benchmarks/backtest_speed.py --tile 5

``--tile K`` gives both the candles K times over, each copy moved on by the span of the data (a
longer run with K times the trades: the cost of a round trip must not grow with the run).

``--grid`` measures several parameter pairs from many trades to few (the driver's cost grows with
the round trips, backtesting.py's hardly) and prints one row of each.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from r3edge_streams.engines.backtest import Backtest  # noqa: E402
from r3edge_streams.exchanges.ohlcv_files import load_ohlcv  # noqa: E402
from r3edge_streams.models import SessionSpec  # noqa: E402

DATA = ROOT / "tests" / "data" / "UNITTEST_BTC-1m.json"
FEE_BPS = 10
WARMUP = 100  # candles before the run (the driver's strategy warm-up; backtesting.py sees them too)


def rows(tile: int) -> list[list[Any]]:
    """The data file's rows, ``tile`` times over, each copy moved on by the span of the data."""
    once = json.loads(DATA.read_text())
    span = once[-1][0] - once[0][0] + 60_000
    return [[row[0] + copy * span, *row[1:]] for copy in range(tile) for row in once]


def ours(fast: int, slow: int, tile: int = 1) -> Callable[[], int]:
    if tile == 1:
        candles = load_ohlcv(DATA, "replay", "UNITTEST/BTC", "1m")
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / DATA.name
            path.write_text(json.dumps(rows(tile)))
            candles = load_ohlcv(path, "replay", "UNITTEST/BTC", "1m")
    spec = SessionSpec.from_data({
        "strategy": "sma_cross", "parameters": {"fast": fast, "slow": slow}, "exchange": "replay",
        "symbol": "UNITTEST/BTC", "timeframe": "1m", "mode": "backtest", "refresh_seconds": 60,
        "risk": {"capital": "10000", "position_fraction": "0.5", "max_position_fraction": "0.5"},
        "fills": {"fee_bps": str(FEE_BPS), "slippage_bps": "0"},
    })  # fmt: skip

    loop = (
        asyncio.new_event_loop()
    )  # one loop for all runs: asyncio.run's teardown would time Python's repr of the result

    def run() -> int:
        outcome = loop.run_until_complete(Backtest(spec).run(candles[WARMUP:], candles[:WARMUP]))
        return len(outcome.trades)

    return run


def theirs(fast: int, slow: int, tile: int = 1) -> Callable[[], int]:
    import pandas as pd
    from backtesting import Backtest as ReferenceBacktest
    from backtesting import Strategy
    from backtesting.lib import crossover

    data = rows(tile)
    frame = pd.DataFrame(
        [[float(v) for v in r[1:6]] for r in data],
        columns=["Open", "High", "Low", "Close", "Volume"],
        index=pd.to_datetime([r[0] for r in data], unit="ms", utc=True),
    )

    def sma(values: Any, n: int) -> Any:
        return pd.Series(values).rolling(n).mean()

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(sma, self.data.Close, slow)

        def next(self) -> None:
            if crossover(self.fast, self.slow) and not self.position:
                self.buy(size=0.5)
            elif crossover(self.slow, self.fast) and self.position:
                self.position.close()

    def run() -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stats = ReferenceBacktest(frame, SmaCross, cash=10_000_000, commission=FEE_BPS / 10_000).run()
        return int(stats["# Trades"])

    return run


def best(runs: list[Callable[[], int]], repeat: int) -> list[tuple[float, int]]:
    """Per run, the shortest of ``repeat`` timed calls (after one untimed) and its trade count; the
    runs take turns, so a passing slowdown of the machine weighs on each alike."""
    trades = [run() for run in runs]
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(repeat):
        for i, run in enumerate(runs):
            started = time.perf_counter()
            trades[i] = run()
            times[i].append(time.perf_counter() - started)
    return [(min(t), n) for t, n in zip(times, trades, strict=True)]


#: from many trades (the default's 276 round trips) to few
GRID = [(10, 30), (20, 60), (30, 100), (50, 200), (100, 400)]


def measured(fast: int, slow: int, repeat: int, tile: int = 1) -> tuple[float, int, float, int]:
    """The best times and trade counts of the driver and of backtesting.py, in this order."""
    runs = [ours(fast, slow, tile), theirs(fast, slow, tile)]
    (driver_time, driver_trades), (ref_time, ref_trades) = best(runs, repeat)
    return driver_time, driver_trades, ref_time, ref_trades


def grid(count: int, repeat: int) -> None:
    print(f"candles: {count}, sma_cross, fee {FEE_BPS} bps (candles/s; ratio: driver / backtesting.py)")
    print(f"{'fast/slow':>10} {'trades':>7} {'driver':>9} {'bt.py':>9} {'ratio':>6}")
    for fast, slow in GRID:
        driver_time, driver_trades, ref_time, _ = measured(fast, slow, repeat)
        print(f"{fast:>4}/{slow:<5} {driver_trades:>7} {count / driver_time:>9.0f} {count / ref_time:>9.0f} "
              f"{ref_time / driver_time:>6.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", type=int, default=10)
    parser.add_argument("--slow", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one run of the driver instead")
    parser.add_argument("--grid", action="store_true", help="several parameter pairs, from many trades to few")
    parser.add_argument("--tile", type=int, default=1, help="the candles this many times over (a longer run)")
    options = parser.parse_args()
    if options.profile:
        profile = cProfile.Profile()
        profile.runcall(ours(options.fast, options.slow))
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    count = len(rows(options.tile)) - WARMUP
    if options.grid:
        grid(count, options.repeat)
        return
    driver_time, driver_trades, ref_time, ref_trades = measured(options.fast, options.slow, options.repeat,
                                                                options.tile)  # fmt: skip
    print(f"candles: {count}, sma_cross fast={options.fast} slow={options.slow}, fee {FEE_BPS} bps")
    print(f"backtest driver: {count / driver_time:10.0f} candles/s ({driver_time:.3f} s, {driver_trades} trades)")
    print(f"backtesting.py:  {count / ref_time:10.0f} candles/s ({ref_time:.3f} s, {ref_trades} trades)")
    print(f"ratio (driver / backtesting.py): {ref_time / driver_time:.2f}")


if __name__ == "__main__":
    main()
