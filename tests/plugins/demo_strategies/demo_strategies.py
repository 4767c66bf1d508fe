"""A strategy from another package: LONG after ``n`` rising closes, SHORT after ``n`` falling.

It imports only the plug-in interface of r3edge_streams, as a third-party package would.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Sequence

from r3edge_streams.models import Candle, Direction
from r3edge_streams.strategies.base import Decision, check_known, int_parameter


class Streak:
    name: ClassVar[str] = "streak"

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        check_known(parameters, {"n"})
        self.n = int_parameter(parameters, "n", 3, 1, 100)

    @property
    def warmup(self) -> int:
        return self.n + 1

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        if len(candles) < self.n + 1:
            return None
        steps = [b.close - a.close for a, b in zip(candles[-self.n - 1:], candles[-self.n:])]
        if all(step > 0 for step in steps):
            return Decision(Direction.LONG)
        if all(step < 0 for step in steps):
            return Decision(Direction.SHORT)
        return None
