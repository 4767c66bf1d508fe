"""Strict reading of what a client controls besides the body's fields: the request target, header
values, query parameters and the strings of a JSON body.

In: strings as aiohttp hands them over (its parser decodes the request line and headers as UTF-8
with surrogate escapes, so a byte that is not UTF-8 shows up as a lone surrogate) and the query
as a multidict. Out: the parsed value, or an :class:`HttpError` 400 whose ``field`` names the
parameter (``path`` or ``query`` when no parameter name can be read, the header's name for a
header). Only ASCII digits count as digits: ``int()`` also takes other scripts' digits.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from multidict import MultiMapping

from .errors import HttpError

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DIGITS = re.compile(r"[0-9]{1,20}")


def decoded(raw: str) -> str | None:
    """``raw`` percent-decoded (``+`` as a space), or None unless it is valid percent-encoded UTF-8."""
    if _SURROGATE.search(raw) or _BAD_ESCAPE.search(raw):
        return None
    try:
        return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_target(raw_path: str, raw_query: str) -> None:
    """400 unless the path and every query name and value are valid percent-encoded UTF-8."""
    if decoded(raw_path) is None:
        raise HttpError(400, "the path is not valid percent-encoded UTF-8", "path")
    for pair in filter(None, raw_query.split("&")):
        raw_name, _, raw_value = pair.partition("=")
        name = decoded(raw_name)
        if name is None:
            raise HttpError(400, "a query parameter name is not valid percent-encoded UTF-8", "query")
        if decoded(raw_value) is None:
            raise HttpError(400, "not valid percent-encoded UTF-8", name)


def check_headers(headers: Iterable[tuple[str, str]]) -> None:
    """400 naming the first header whose name or value is not valid UTF-8."""
    for name, value in headers:
        if _SURROGATE.search(name) or _SURROGATE.search(value):
            readable = name if not _SURROGATE.search(name) else "headers"
            raise HttpError(400, "a header that is not valid UTF-8", readable)


def query_of(request: Any) -> MultiMapping[str]:
    """The request's query as the multidict aiohttp parsed (faust types it as a plain Mapping)."""
    query: MultiMapping[str] = request.query
    return query


def single(query: MultiMapping[str], name: str) -> str | None:
    """The one value of query parameter ``name`` (None when absent; 400 when given twice)."""
    values = query.getall(name, [])
    if len(values) > 1:
        raise HttpError(400, "given more than once", name)
    return values[0] if values else None


def integer(query: MultiMapping[str], name: str, default: int, low: int, high: int) -> int:
    """Query parameter ``name`` as an integer in ``low..high`` written in ASCII digits."""
    raw = single(query, name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise HttpError(400, f"must be an integer from {low} to {high} in ASCII digits", name)
    return int(raw)


def choice(query: MultiMapping[str], name: str, choices: Collection[str]) -> str | None:
    """Query parameter ``name``, one of ``choices`` (None when absent)."""
    raw = single(query, name)
    if raw is not None and raw not in choices:
        raise HttpError(400, f"must be one of {', '.join(choices)}", name)
    return raw


def flag(query: MultiMapping[str], name: str) -> bool | None:
    """Query parameter ``name`` as ``true`` or ``false`` (None when absent)."""
    raw = choice(query, name, ("true", "false"))
    return None if raw is None else raw == "true"


def has_lone_surrogate(payload: Any) -> bool:
    """Whether a parsed JSON value holds a string with a lone surrogate (a ``\\ud800`` escape):
    such a string is not Unicode text and cannot be written as UTF-8 (iterative: no recursion)."""
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
