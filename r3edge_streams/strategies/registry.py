"""Finding strategies by name: the built-ins, and any installed package's entry points.

In: a strategy name and its parameters. Out: a built strategy, or StrategyError (unknown
name, invalid parameters). Other packages add strategies without touching this project by
declaring an entry point in the group ``r3edge_streams.strategies``
(``my_strategy = my_package.module:MyStrategy``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from .base import MAX_WARMUP, Strategy, StrategyError
from .builtin import BUILTIN

ENTRY_POINT_GROUP = "r3edge_streams.strategies"
Factory = Callable[[Mapping[str, Any]], Strategy]


def available() -> dict[str, Factory]:
    """Every strategy by name: built-ins first, then plug-ins (a plug-in cannot shadow a built-in)."""
    found: dict[str, Factory] = {cls.name: cls for cls in BUILTIN}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in found:
            found[point.name] = _lazy(point.name, point.load)
    return found


def _lazy(name: str, load: Callable[[], Any]) -> Factory:
    def build(parameters: Mapping[str, Any]) -> Strategy:
        try:
            factory = load()
        except Exception as exc:  # noqa: BLE001 - a broken plug-in is reported, not fatal
            raise StrategyError(f"strategy {name!r} could not be loaded: {exc}") from None
        strategy: Strategy = factory(parameters)
        return strategy

    return build


def create(name: str, parameters: Mapping[str, Any]) -> Strategy:
    """The strategy ``name`` built with ``parameters``; StrategyError says what is wrong."""
    found = available()
    factory = found.get(name)
    if factory is None:
        raise StrategyError(f"unknown strategy {name!r}; available: {', '.join(sorted(found))}")
    strategy = factory(parameters)
    warmup = strategy.warmup
    if isinstance(warmup, bool) or not isinstance(warmup, int) or not 0 <= warmup <= MAX_WARMUP:
        raise StrategyError(
            f"these parameters need a window of {warmup!r} candles; a strategy may keep at most {MAX_WARMUP}",
            getattr(strategy, "window_parameter", None),
        )
    return strategy
