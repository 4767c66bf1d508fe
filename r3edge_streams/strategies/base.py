"""The strategy plug-in interface: pure decisions over a bounded window of closed candles.

In: validated parameters (at construction) and the newest closed candles of one market, oldest
first. Out: a ``Decision`` (LONG / SHORT / FLAT with a confidence in 0..1) or None (nothing new).
A strategy never does I/O and never reads a clock; ``warmup`` says how many candles it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from ..domain.values import value
from ..models import Candle, Direction

#: the longest window any strategy may keep: its compact record stays far below Kafka's 1 MB
#: message limit (about 60 bytes a candle; at most ~300 KB with the longest numbers allowed)
MAX_WARMUP = 2000


class StrategyError(ValueError):
    """A strategy cannot be built: unknown name or invalid parameters (the message says which).

    ``parameter``: the parameter at fault, when one is.
    """

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


@value
class Decision:
    """What a strategy concluded from the newest candle."""

    direction: Direction
    confidence: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if not isinstance(self.direction, Direction):
            raise TypeError(f"direction must be a Direction, got {self.direction!r}")
        if not (isinstance(self.confidence, Decimal) and Decimal(0) <= self.confidence <= Decimal(1)):
            raise ValueError(f"confidence must be a Decimal in 0..1, got {self.confidence!r}")


class Strategy(Protocol):
    """A strategy instance: built from parameters, asked once per closed candle."""

    name: ClassVar[str]

    @property
    def warmup(self) -> int:
        """Closed candles needed (window length) before ``evaluate`` can decide."""
        ...

    def evaluate(self, candles: Sequence[Candle]) -> Decision | None:
        """The decision at the newest of ``candles`` (at most ``warmup`` of them, oldest first)."""
        ...


def int_parameter(parameters: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    """An integer parameter in [low, high], or StrategyError naming it."""
    value = parameters.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StrategyError(f"parameter {name!r} must be an integer between {low} and {high}, got {value!r}", name)
    return value


def decimal_parameter(parameters: Mapping[str, Any], name: str, default: str, low: str, high: str) -> Decimal:
    """A decimal parameter in [low, high] (number or numeric string), or StrategyError naming it."""
    value = parameters.get(name, default)
    try:
        number = Decimal(str(value)) if not isinstance(value, bool) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite() or not Decimal(low) <= number <= Decimal(high):
        raise StrategyError(f"parameter {name!r} must be a number between {low} and {high}, got {value!r}", name)
    return number


def check_known(parameters: Mapping[str, Any], known: set[str]) -> None:
    """StrategyError for a parameter the strategy does not have (a typo must not pass silently)."""
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise StrategyError(f"unknown parameter {unknown[0]!r}; known: {', '.join(sorted(known))}", unknown[0])


def crossed_above(before: Decimal, after: Decimal, level_before: Decimal, level_after: Decimal) -> bool:
    """True when a line went from at-or-below a level to above it."""
    return before <= level_before and after > level_after


def crossed_below(before: Decimal, after: Decimal, level_before: Decimal, level_after: Decimal) -> bool:
    """True when a line went from at-or-above a level to below it."""
    return before >= level_before and after < level_after
