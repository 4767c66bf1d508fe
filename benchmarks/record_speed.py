"""Speed of making the hot records: the project's ``__init__`` (``models/construct``) against
Faust's own generated ``__init__`` (kept as ``_model_init``), side by side in one run, on the
records an order's round trip makes, with the values a backtest gives them.

Prints microseconds per construction of each (the best of ``--repeat`` rounds) and the ratio
(Faust / ours: how many times faster), and the cost of a one-field ``derive``. Both run the
record's compiled invariants (``__post_init__``), so the ratio is that of the field setters. It asserts
nothing; ``tests/unit/test_record_construction.py`` holds the two constructions equal.

    .venv/bin/python benchmarks/record_speed.py [--number 3000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import timeit
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.backtest_speed import ours  # noqa: E402
from r3edge_streams.engines import backtest  # noqa: E402
from r3edge_streams.models.base import Record  # noqa: E402


def captured() -> list[Record]:
    """One record of each kind the backtest driver's steps make (orders, reports, positions...)."""
    seen: dict[type, Record] = {}
    keep = backtest.Backtest._keep
    tracked = backtest.Backtest._tracked

    def keep_spy(self: Any, state: Any) -> None:
        seen.setdefault(type(state), state)
        seen.setdefault(type(state.order), state.order)
        keep(self, state)

    async def tracked_spy(self: Any, state: Any, result: Any) -> None:
        for record in (result.position, result.order, result.trade):
            if record is not None:
                seen.setdefault(type(record), record)
        await tracked(self, state, result)

    backtest.Backtest._keep = keep_spy  # type: ignore[method-assign]
    backtest.Backtest._tracked = tracked_spy  # type: ignore[method-assign]
    try:
        ours(10, 30)()
    finally:
        backtest.Backtest._keep = keep  # type: ignore[method-assign]
        backtest.Backtest._tracked = tracked  # type: ignore[method-assign]
    return list(seen.values())


def _faust_init(cls: Any, values: dict[str, Any]) -> None:
    cls._model_init(object.__new__(cls), **values)


def _ours(cls: Any, values: dict[str, Any]) -> None:
    cls(**values)


def per_call(call: Any, number: int, repeat: int) -> float:
    return min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    print(f"{'record':<16}{'fields':>7}{'faust µs':>10}{'ours µs':>9}{'ratio':>7}{'derive µs':>11}")
    for record in captured():
        cls = type(record)
        values = {name: record.__dict__[name] for name in cls._options.fields}

        change = dict([next(iter(values.items()))])
        faust = partial(_faust_init, cls, values)
        fast = partial(_ours, cls, values)
        derive = partial(record.derive, **change)
        theirs = per_call(faust, options.number, options.repeat)
        mine = per_call(fast, options.number, options.repeat)
        derived = per_call(derive, options.number, options.repeat)
        print(f"{cls.__name__:<16}{len(values):>7}{theirs:>10.1f}{mine:>9.1f}{theirs / mine:>7.1f}{derived:>11.1f}")


if __name__ == "__main__":
    main()
