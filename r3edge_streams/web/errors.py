"""The error answer a view or the gate raises: an HTTP status, a JSON body naming the bad field.

In: a status, a message, optionally the field at fault, headers and extra body members.
Out: :class:`HttpError`; the gate (``web/gate.py``) writes it as ``{"error": ..., "field": ...}``.
"""

from __future__ import annotations

from typing import Any


class HttpError(Exception):
    """An error answer: HTTP ``status`` with a JSON body ``{"error": ..., "field": ...}``."""

    def __init__(
        self, status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body: dict[str, Any] = {"error": message, **({"field": field} if field else {}), **extra}
