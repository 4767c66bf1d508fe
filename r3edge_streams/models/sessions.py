"""Session messages: what a session is, the commands that change it, and requests to it.

In: REST bodies and Kafka commands. Out: ``SessionCommand`` on ``sessioncommands``,
``SessionState`` in the ``sessions`` table, ``SessionRequest`` on ``sessionsrequest`` and what of
it reached each session, ``SessionFeed`` in the ``session_feeds`` table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Optional

from .base import Record
from .enums import CommandKind, RequestKind, SessionMode, SessionStatus
from .signals import Signal


class SessionSpec(Record):
    """What a trader asks to run: a strategy instance on a market, in a mode."""

    strategy: str
    parameters: dict[str, Any]
    exchange: str
    symbol: str
    timeframe: str
    mode: SessionMode
    refresh_seconds: int


class SessionCommand(Record):
    """A request to change session ``session_id``; ``command_id`` makes it idempotent."""

    command_id: str
    session_id: str
    kind: CommandKind
    issued_at: datetime
    spec: Optional[SessionSpec] = None


class SessionState(Record):
    """The ``sessions`` table value: the session as its agent last wrote it."""

    session_id: str
    spec: SessionSpec
    status: SessionStatus
    version: int
    created_at: datetime
    updated_at: datetime
    last_command_id: str


class SessionRequest(Record):
    """Work for one session's position tracker: a signal, a tracking tick or a price update."""

    request_id: str
    session_id: str
    kind: RequestKind
    at: datetime
    signal: Optional[Signal] = None
    price: Optional[Decimal] = None


class SessionFeed(Record):
    """The ``session_feeds`` table value: what reached a session on ``sessionsrequest``, each once."""

    session_id: str
    signals: int
    prices: int
    ticks: int
    updated_at: datetime
    last_signal: Optional[Signal] = None
    last_price: Optional[Decimal] = None
    last_price_at: Optional[datetime] = None
    last_tick_at: Optional[datetime] = None
