"""Reading a JSON body, and the error type the views raise.

In: aiohttp requests. Out: :func:`json_body`, the request's JSON object, or an
:class:`HttpError` (re-exported from ``errors``) saying what is wrong with it. Bodies are read by
aiohttp within the application's ``client_max_size`` (``MAX_BODY_BYTES``): a larger one stops the
reading with a 413 however it is framed (Content-Length, chunked, compressed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from aiohttp import web as aioweb
from faust import web

from ..application import MAX_BODY_BYTES
from ..models import MalformedMessage, loads_json
from .errors import HttpError
from .inputs import has_lone_surrogate

__all__ = ["MAX_BODY_BYTES", "HttpError", "json_body", "utc_iso"]
JSON_TYPE = "application/json"


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body, or an HttpError saying what is wrong with it."""
    declared = "Content-Type" in request.headers
    content_type = cast(aioweb.Request, request).content_type if declared else JSON_TYPE
    if content_type != JSON_TYPE:
        raise HttpError(415, f"Content-Type must be {JSON_TYPE}, got {content_type!r}")
    raw = await request.read()  # aiohttp keeps it: a view that forwards the request sends it again
    try:
        payload = loads_json(raw)
    except MalformedMessage as exc:
        raise HttpError(400, str(exc)) from None
    if not isinstance(payload, dict):
        raise HttpError(400, "body must be a JSON object")
    if has_lone_surrogate(payload):
        raise HttpError(400, "invalid JSON: a string holds a lone surrogate escape (\\ud800-\\udfff)")
    return payload


def utc_iso(moment: datetime) -> str:
    """UTC time as the messages write it (``...Z``)."""
    return moment.isoformat().replace("+00:00", "Z")
