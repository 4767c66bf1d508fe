"""Notifications and dead letters: what people and operators must be told.

In: any agent. Out: ``Notification`` on ``notifications``; ``DeadLetter`` on ``deadletters``,
the untouched bytes of a message no agent could accept, with the reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from .base import Record
from .enums import Severity


class Notification(Record):
    """A message for a trader or an operator about ``session_id`` (or the system)."""

    notification_id: str
    severity: Severity
    category: str
    title: str
    body: str
    at: datetime
    session_id: Optional[str] = None


class DeadLetter(Record):
    """A rejected message: where it came from, its key and value as received, and why."""

    source_topic: str
    partition: int
    offset: int
    reason: str
    at: datetime
    key: Optional[str] = None
    value: Optional[str] = None
    value_encoding: str = "utf-8"
    value_bytes: Optional[int] = None  # the original value's size; ``value`` is cut when this is large
    value_sha256: Optional[str] = None  # of the original value, to find it again at its offset
    truncated: bool = False  # ``value`` (or ``key``) is only the start of the original
