"""Strategy activation messages: which sessions follow which strategy instance.

In: session transitions (a session becoming active or leaving active). Out: ``StrategyCommand``
on ``strategycommands`` (key strategyId) and ``ActiveStrategy`` in the ``active_strategies``
table (key strategyId): the instance (name, parameters, market) and its sessions; and
``StrategyWindow`` in the ``strategy_windows`` table: the candles an instance decides on.
"""

from __future__ import annotations

from datetime import datetime
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
    """The newest closed candles an instance has seen (at most its warm-up), or why it failed."""

    strategy_id: str
    candles: list[Candle]
    failed: Optional[str] = None
    generation: int = 0  # the instance generation this window belongs to

    @property
    def last_open(self) -> Optional[datetime]:
        return self.candles[-1].open_time if self.candles else None
