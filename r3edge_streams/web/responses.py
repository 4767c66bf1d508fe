"""JSON answers shared by the views: errors that name the bad field, and body parsing.

In: aiohttp requests. Out: faust web responses; :class:`HttpError` carries a 4xx/5xx answer.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, TypeVar

from faust import web

from ..models import MalformedMessage, loads_json

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
V = TypeVar("V", bound=web.View)


class HttpError(Exception):
    """An error answer: HTTP ``status`` with a JSON body ``{"error": ..., "field": ...}``."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}
        self.body: dict[str, Any] = {"error": message, **({"field": field} if field else {}), **extra}


def json_errors(handler: Callable[..., Awaitable[web.Response]]) -> Callable[..., Awaitable[web.Response]]:
    """Turn HttpError into its JSON answer and any other failure into a JSON 500."""

    @functools.wraps(handler)
    async def wrapper(view: web.View, request: web.Request, *args: Any, **kwargs: Any) -> web.Response:
        try:
            return await handler(view, request, *args, **kwargs)
        except HttpError as exc:
            return view.json(exc.body, status=exc.status, headers=exc.headers)
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return view.json({"error": "internal error"}, status=500)

    return wrapper


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body, or an HttpError saying what is wrong with it."""
    content_type = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if content_type != "application/json":
        raise HttpError(415, f"Content-Type must be application/json, got {content_type!r}")
    raw = await request.read()  # aiohttp keeps it: a view that forwards the request sends it again
    if len(raw) > MAX_BODY_BYTES:
        raise HttpError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = loads_json(raw)
    except MalformedMessage as exc:
        raise HttpError(400, str(exc)) from None
    if not isinstance(payload, dict):
        raise HttpError(400, "body must be a JSON object")
    return payload
