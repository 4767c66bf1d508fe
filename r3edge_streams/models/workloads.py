"""Workload messages: who needs which market collected.

In: strategy activation (acquire/release per strategy instance and session). Out:
``WorkloadCommand`` on ``workloadcommands`` (key market) and ``Workload`` in the ``workloads``
table (key market): the holders of a market, by strategy instance, with their sessions.
"""

from __future__ import annotations

from datetime import datetime

from .base import Record
from .enums import WorkloadAction
from .market import OnMarket


class WorkloadCommand(OnMarket, Record):
    """Strategy instance ``strategy_id`` starts or stops needing ``market`` for ``session_id``."""

    command_id: str
    action: WorkloadAction
    exchange: str
    symbol: str
    timeframe: str
    strategy_id: str
    session_id: str
    at: datetime


class Workload(OnMarket, Record):
    """A market and what needs it: ``holders`` maps strategyId to the sessions following it.

    Holders are sets, not counters, so a redelivered acquire or release changes nothing.
    The market is collected while ``holders`` is not empty.
    """

    exchange: str
    symbol: str
    timeframe: str
    holders: dict[str, list[str]]
    version: int
    updated_at: datetime

    @property
    def active(self) -> bool:
        return bool(self.holders)

    @property
    def sessions(self) -> list[str]:
        """Every session that trades this market, once, sorted."""
        return sorted({session for sessions in self.holders.values() for session in sessions})
