"""Strategy activation messages: which sessions follow which strategy instance.

In: session transitions (a session becoming active or leaving active). Out: ``StrategyCommand``
on ``strategycommands`` (key strategyId) and ``ActiveStrategy`` in the ``active_strategies``
table (key strategyId): the instance (name, parameters, market) and its sessions; and
``StrategyWindow`` in the ``strategy_windows`` table: the candles an instance decides on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Optional

from .base import Record
from .enums import StrategyAction
from .market import Candle, OnMarket


class StrategyCommand(Record):
    """Session ``session_id`` starts or stops following instance ``strategy_id``; or a reset of it.

    A reset (no session) gives a failed instance a fresh start: a new window, warmed again.
    """

    command_id: str
    action: StrategyAction
    strategy_id: str
    strategy: str
    parameters: dict[str, Any]
    exchange: str
    symbol: str
    timeframe: str
    at: datetime
    session_id: Optional[str] = None


class ActiveStrategy(OnMarket, Record):
    """A strategy instance and the sessions that follow it (active while there is one)."""

    strategy_id: str
    strategy: str
    parameters: dict[str, Any]
    exchange: str
    symbol: str
    timeframe: str
    sessions: list[str]
    version: int
    updated_at: datetime
    generation: int = 0  # resets so far: a window of an older generation that failed starts afresh

    @property
    def active(self) -> bool:
        return bool(self.sessions)


class StrategyWindow(Record):
    """The newest closed candles an instance has seen (at most its warm-up), or why it failed.

    Candles are kept compactly, one row each, oldest first: ``[open time in epoch seconds,
    open, high, low, close, volume]`` as strings (exact Decimals), the market once for all:
    about a quarter of a full Candle record's size, so a window of the largest warm-up allowed
    stays far below Kafka's message limit and is cheap to write to the changelog on each candle.
    """

    strategy_id: str
    exchange: str
    symbol: str
    timeframe: str
    rows: list[list[str]]
    failed: Optional[str] = None
    generation: int = 0  # the instance generation this window belongs to

    @classmethod
    def of(
        cls,
        strategy_id: str,
        candles: Sequence[Candle],
        failed: Optional[str] = None,
        generation: int = 0,
        rows: Optional[list[list[str]]] = None,
    ) -> StrategyWindow:
        """The window holding ``candles`` (``rows``: their packed form when the caller has it)."""
        first = candles[0]
        return cls(
            strategy_id=strategy_id,
            exchange=first.exchange,
            symbol=first.symbol,
            timeframe=first.timeframe,
            rows=rows if rows is not None else [pack(c) for c in candles],
            failed=failed,
            generation=generation,
        )

    def candles(self) -> list[Candle]:
        """The window's candles, oldest first."""
        return [unpack(row, self.exchange, self.symbol, self.timeframe) for row in self.rows]

    @property
    def last_open(self) -> Optional[datetime]:
        return _moment(self.rows[-1][0]) if self.rows else None


def pack(candle: Candle) -> list[str]:
    """A candle's row in a window."""
    return [
        str(int(candle.open_time.timestamp())),
        str(candle.open),
        str(candle.high),
        str(candle.low),
        str(candle.close),
        str(candle.volume),
    ]


def unpack(row: list[str], exchange: str, symbol: str, timeframe: str) -> Candle:
    """The candle of a window row."""
    opened, open_, high, low, close, volume = row
    return Candle(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        open_time=_moment(opened),
        open=Decimal(open_),
        high=Decimal(high),
        low=Decimal(low),
        close=Decimal(close),
        volume=Decimal(volume),
    )


def _moment(epoch_seconds: str) -> datetime:
    return datetime.fromtimestamp(int(epoch_seconds), tz=timezone.utc)
