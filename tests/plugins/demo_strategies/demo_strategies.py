"""Strategies from another package: ``streak`` (LONG after ``n`` rising closes, SHORT after ``n``
falling) and ``fragile`` (a plug-in with a bug some data triggers).

It imports only the plug-in interface of r3edge_streams, as a third-party package would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

from r3edge_streams.models import Candle, Direction
from r3edge_streams.strategies.base import Decision, StrategyError, check_known, int_parameter


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
        steps = [b.close - a.close for a, b in zip(candles[-self.n - 1 : -1], candles[-self.n :], strict=True)]
        if all(step > 0 for step in steps):
            return Decision(Direction.LONG)
        if all(step < 0 for step in steps):
            return Decision(Direction.SHORT)
        return None


class Fragile:
    """LONG on a rising close, SHORT on a falling one; raises on the candle that opened at ``fail_at``.

    Stands for a plug-in with a bug that some data triggers: the engine must isolate it.
    """

    name: ClassVar[str] = "fragile"
    warmup: ClassVar[int] = 2

    def __init__(self, parameters: Mapping[str, Any]) -> None:
        check_known(parameters, {"fail_at"})
        raw = parameters.get("fail_at")
        if not isinstance(raw, str):
            raise StrategyError("'fail_at' must be an ISO time")
        try:
            self.fail_at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise StrategyError("'fail_at' must be an ISO time") from None

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        if candles[-1].open_time == self.fail_at:
            raise RuntimeError(f"fragile strategy broke on the candle of {self.fail_at.isoformat()}")
        if len(candles) < 2 or candles[-1].close == candles[-2].close:
            return None
        return Decision(Direction.LONG if candles[-1].close > candles[-2].close else Direction.SHORT)
