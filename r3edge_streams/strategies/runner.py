"""One strategy step (pure): a closed candle in, the instance's window and signal out.

In: the instance (``ActiveStrategy``), its window (``StrategyWindow`` or None), a closed candle
and the strategy object. Out: ``Step``: the new window (None: the candle was seen already, a
redelivery), the signal if the strategy decided, and the session requests of the candle for
every following session, in the order each must take them: the candle's price (its range, for
the session's protective levels), then the signal decided at its close. A strategy that raises
or returns something other than a Decision or None yields a failed window with the error: the
instance stops (its sessions still get prices), the others go on, until a reset (a newer
instance generation) starts it afresh.
Ids derive from the instance and the candle, so the same candle gives the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from datetime import datetime

from ..domain.candles import close_time
from ..domain.fanout import price_updates
from ..domain.values import value
from ..models import ActiveStrategy, Candle, RequestKind, SessionRequest, Signal, StrategyWindow
from ..models.strategies import pack
from .base import Decision, Strategy


@value
class Step:
    window: StrategyWindow | None
    signal: Signal | None = None
    requests: list[SessionRequest] = field(default_factory=list)  # per session: the price, then the signal
    candles: tuple[Candle, ...] = ()  # the new window's candles, unpacked (for the caller to keep)


def fresh(instance: ActiveStrategy, window: StrategyWindow | None) -> bool:
    """Whether the next candle starts a new window (so history should warm it)."""
    return window is None or (window.failed is not None and window.generation < instance.generation)


def missed(window: StrategyWindow | None, candle: Candle) -> bool:
    """Whether the window lacks candles published before ``candle`` (its link points past the window)."""
    if window is None or window.failed or window.last_open is None or candle.previous_open is None:
        return False
    return window.last_open < candle.previous_open


def catch_up(window: StrategyWindow, candle: Candle, fetched: Sequence[Candle]) -> list[Candle] | None:
    """The candles the window missed, in order, taken from ``fetched`` (an exchange's answer);
    None if they do not reach ``candle``'s predecessor (the window must then start afresh)."""
    assert window.last_open is not None
    between = sorted(
        {c.open_time: c for c in fetched if window.last_open < c.open_time < candle.open_time}.values(),
        key=lambda c: c.open_time,
    )
    if not between or between[-1].open_time != candle.previous_open:
        return None
    return between


def halted(instance: ActiveStrategy, window: StrategyWindow | None) -> bool:
    """Whether the instance failed and was not reset since: it takes no candles."""
    return window is not None and window.failed is not None and window.generation >= instance.generation


def step(
    instance: ActiveStrategy,
    window: StrategyWindow | None,
    candle: Candle,
    strategy: Strategy,
    history: Sequence[Candle] = (),
    earlier: Sequence[Candle] | None = None,
) -> Step:
    """Add ``candle`` to the window (after ``history`` when the window is new) and evaluate once.

    ``earlier``: the window's candles already unpacked, when the caller keeps them (else they
    are unpacked from the window).
    """
    if fresh(instance, window):
        window = None  # new, or reset after it failed: start afresh (warmed from ``history``)
    if window is not None and window.last_open is not None and candle.open_time <= window.last_open:
        return Step(None)  # seen already: no second signal for the same candle
    keep = max(strategy.warmup, 1)
    history = usable_history(history, candle) if window is None else []
    linked = candle  # as published: linked to its predecessor (its price requests carry it so)
    candle = candle.derive(previous_open=None) if candle.previous_open is not None else candle
    if window is not None:
        previous = list(earlier) if earlier is not None else window.candles()
        rows: list[list[str]] | None = [*window.rows[-(keep - 1) :], pack(candle)] if keep > 1 else [pack(candle)]
    else:
        previous, rows = list(history), None
    candles = [*previous, candle][-keep:]
    made = decide(instance, linked, candles, strategy)
    new_window = StrategyWindow.of(
        instance.strategy_id, candles, failed=made.failed, generation=instance.generation, rows=rows
    )
    if made.failed is not None:
        return Step(new_window, requests=made.requests, candles=tuple(candles))
    return Step(new_window, made.signal, made.requests, tuple(candles))


@value
class Decided:
    """What the strategy made of a candle: its signal (if it decided), the candle's session
    requests (its price, then the signal, per session) and the error if the strategy failed."""

    signal: Signal | None
    requests: list[SessionRequest]
    failed: str | None = None


def decide(instance: ActiveStrategy, candle: Candle, candles: Sequence[Candle], strategy: Strategy) -> Decided:
    """Evaluate ``strategy`` once on ``candles`` (the window, ``candle`` its newest, unlinked) and
    make the candle's requests; ``candle`` as published (linked to its predecessor).

    The strategy agent's ``step`` calls this after keeping the window; the backtest driver calls
    it with the window cut from its series, on the candles where the strategy decides.
    """
    prices = price_updates(candle, instance.sessions)
    try:
        decision = strategy.evaluate(candles)
        if decision is not None and not isinstance(decision, Decision):
            raise TypeError(f"evaluate returned {decision!r}, not a Decision or None")
    except Exception as exc:  # noqa: BLE001 - a plug-in's failure is isolated, not propagated
        return Decided(None, prices, failed=f"{type(exc).__name__}: {exc}"[:500])
    if decision is None:
        return Decided(None, prices)
    signal = Signal(
        signal_id=f"{instance.strategy_id}:{candle.open_time.isoformat()}",
        strategy_id=instance.strategy_id,
        strategy=instance.strategy,
        exchange=candle.exchange,
        symbol=candle.symbol,
        timeframe=candle.timeframe,
        candle_time=candle.open_time,
        direction=decision.direction,
        confidence=decision.confidence,
        price=candle.close,
    )
    return Decided(signal, [*prices, *session_requests(signal, instance.sessions, close_time(candle))])


def usable_history(history: Sequence[Candle], candle: Candle) -> list[Candle]:
    """The history that may warm a new window for ``candle``: the earlier candles, oldest first,
    when they reach the candle's predecessor (``previous_open``, when known); else none.

    A window with a hole before its newest candle would decide on a gap (a moving average over
    candles that are not consecutive): starting cold, deciding only once warm, is never wrong.
    """
    earlier = sorted(
        {c.open_time: c for c in history if c.open_time < candle.open_time}.values(), key=lambda c: c.open_time
    )
    if candle.previous_open is not None and (not earlier or earlier[-1].open_time != candle.previous_open):
        return []
    return [c.derive(previous_open=None) if c.previous_open is not None else c for c in earlier]


def session_requests(signal: Signal, sessions: Sequence[str], at: datetime) -> list[SessionRequest]:
    """The signal for each following session (key sessionId)."""
    return [
        SessionRequest(
            request_id=f"signal:{session}:{signal.signal_id}",
            session_id=session,
            kind=RequestKind.SIGNAL,
            at=at,
            signal=signal,
        )
        for session in sessions
    ]
