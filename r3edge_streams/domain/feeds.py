"""A session's feed (pure): each signal, price update and tracking tick taken once, in order.

In: the session's ``SessionFeed`` (or None), a ``SessionRequest`` from ``sessionsrequest`` and
the strategy instance the session follows now. Out: the new feed, or None when the request is
a repeat (a redelivery, or an effect a crashed producer sent again) or a signal of an instance
the session no longer follows (sent before a modification reached that instance). Signals come
in candle order per session and prices and ticks in time order, so "not newer than the last one
taken" is exactly "seen already".
"""

from __future__ import annotations

from ..models import RequestKind, SessionFeed, SessionRequest


def apply_request(
    feed: SessionFeed | None, request: SessionRequest, instance_id: str | None = None
) -> SessionFeed | None:
    """The feed after ``request``; None if the feed has it already, it carries nothing, or it is a
    signal of another instance than ``instance_id`` (when given)."""
    current = feed or SessionFeed(session_id=request.session_id, signals=0, prices=0, ticks=0, updated_at=request.at)
    if request.kind is RequestKind.SIGNAL:
        if instance_id is not None and request.signal is not None and request.signal.strategy_id != instance_id:
            return None
        return _signal(current, request)
    if request.kind is RequestKind.PRICE:
        return _price(current, request)
    if request.kind in (RequestKind.SESSION, RequestKind.BACKTEST):
        return current  # a status change, a backtest's result: the tracker's step is idempotent for them
    return _tick(current, request)


def _signal(feed: SessionFeed, request: SessionRequest) -> SessionFeed | None:
    signal = request.signal
    if signal is None or (feed.last_signal is not None and signal.candle_time <= feed.last_signal.candle_time):
        return None
    return feed.derive(signals=feed.signals + 1, last_signal=signal, updated_at=max(feed.updated_at, request.at))


def _price(feed: SessionFeed, request: SessionRequest) -> SessionFeed | None:
    if request.price is None or (feed.last_price_at is not None and request.at <= feed.last_price_at):
        return None
    return feed.derive(
        prices=feed.prices + 1,
        last_price=request.price,
        last_price_at=request.at,
        updated_at=max(feed.updated_at, request.at),
    )


def _tick(feed: SessionFeed, request: SessionRequest) -> SessionFeed | None:
    if feed.last_tick_at is not None and request.at <= feed.last_tick_at:
        return None
    return feed.derive(ticks=feed.ticks + 1, last_tick_at=request.at, updated_at=max(feed.updated_at, request.at))
