"""Fan-out of a candle to those who need it (pure): the join of ``marketdata`` with ``workloads``,
then of an instance's candle with its followers.

In: a closed candle and its market's workload, or the sessions that follow an instance. Out:
one ``StrategyCandle`` per strategy instance (for ``strategiesdata``, from DataCollect) and one
price ``SessionRequest`` per following session (for ``sessionsrequest``, from the strategy
agent, just before the instance's signal of the same candle: so every session takes a
candle's range and then its signal, in event order, on one partition). Ids derive from the
candle, so a redelivered candle yields the same messages and consumers can drop the repeat.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import Candle, RequestKind, SessionRequest, StrategyCandle, Workload
from .candles import close_time


def strategy_candles(candle: Candle, workload: Workload) -> list[StrategyCandle]:
    """The candle for every strategy instance that follows its market."""
    return [StrategyCandle(strategy_id=strategy_id, candle=candle) for strategy_id in sorted(workload.holders)]


def price_updates(candle: Candle, sessions: Sequence[str]) -> list[SessionRequest]:
    """A price update with the whole candle (linked to the one before) for each of ``sessions``."""
    return [
        SessionRequest(
            request_id=f"price:{session_id}:{candle.market}:{candle.open_time.isoformat()}",
            session_id=session_id,
            kind=RequestKind.PRICE,
            at=close_time(candle),
            price=candle.close,
            candle=candle,
        )
        for session_id in sessions
    ]
