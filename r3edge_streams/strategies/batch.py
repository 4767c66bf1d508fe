"""A strategy's decisions over a whole run of candles (pure), for the backtest driver.

In: a strategy and a series of closed candles, oldest first (the warm-up, then the run, each
unlinked as the strategy agent's windows hold them) and the index of the run's first candle.
Out: per candle of the run, the ``Decision`` that ``evaluate`` makes on the window the strategy
agent would give it there (the last ``warmup`` candles up to it), or None.

The driver takes through the agents' steps only the candles where the strategy decides (or
where the session needs the candle), so these must be ``evaluate``'s own decisions. A strategy
may compute the whole series at once with a ``decisions(candles)`` method (the simple moving
average crossover does, in exact arithmetic) that returns None when it cannot; otherwise, or
then, ``evaluate`` is asked window by window. Tests hold every built-in's series against
``evaluate`` on each window. A strategy that raises decides nothing from that candle on, as the
strategy agent halts a failed instance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..models import Candle
from .base import Decision, Strategy

AtOnce = Callable[[Sequence[Candle]], "list[Decision | None] | None"]  # a strategy's ``decisions``


def decisions(strategy: Strategy, series: Sequence[Candle], start: int) -> list[Decision | None]:
    """The strategy's decision at each candle of ``series[start:]``, as its windows give it."""
    at_once: AtOnce | None = getattr(strategy, "decisions", None)
    whole = at_once(series) if at_once is not None else None
    if whole is not None:
        if len(whole) != len(series):
            raise ValueError(f"{type(strategy).__name__}.decisions gave {len(whole)} for {len(series)} candles")
        return list(whole[start:])
    return _window_by_window(strategy, series, start)


def _window_by_window(strategy: Strategy, series: Sequence[Candle], start: int) -> list[Decision | None]:
    keep = max(strategy.warmup, 1)
    out: list[Decision | None] = []
    for end in range(start + 1, len(series) + 1):
        try:
            decision = strategy.evaluate(series[max(0, end - keep) : end])
            if decision is not None and not isinstance(decision, Decision):
                raise TypeError(f"evaluate returned {decision!r}")
        except Exception:  # noqa: BLE001 - the instance halts (the agent's step says why): no decision from here on
            return out + [None] * (len(series) - start - len(out))
        out.append(decision)
    return out
