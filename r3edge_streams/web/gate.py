"""The gate every HTTP request passes before and after its view: tokens before routing, a strict
URL and headers, bounded bodies, and a JSON answer for every error.

In: each request of Faust's aiohttp application (the gate is its middleware, installed when the
web package is discovered, before the server starts and freezes the application). Out: the
view's answer, or JSON ``{"error": ..., "field": ...}``:

- 401 (``WWW-Authenticate``) first, without a known token, on every path but the public ones, so
  an unauthenticated client cannot tell which routes and methods exist;
- 400 for a path, query or header that is not valid (percent-encoded) UTF-8, or a body whose
  framing or compression the parser refuses;
- 413 for a body over ``MAX_BODY_BYTES``, declared (nothing is read) or found while reading;
- 404, 405 (with ``Allow``) and any other aiohttp HTTP error with its own status and headers;
- 500 for anything else, logged: that is a bug of the server, not of the input.

Error bodies are written with the standard library's JSON (escaping any character), so an error
answer cannot fail on what the client sent. A last hook turns error answers aiohttp makes
outside the middleware (its ``Expect`` handling) into the same JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from faust.web.drivers.aiohttp import Web as AiohttpWeb

from ..application import MAX_BODY_BYTES, app
from .auth import PUBLIC_PATHS, scopes_of
from .errors import HttpError
from .inputs import check_headers, check_target

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON_TYPE = "application/json"
_BODY_HEADERS = {"content-type", "content-length", "content-encoding", "transfer-encoding"}


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Admit the request and run its view; answer every error in JSON."""
    try:
        admit(request)
        return await handler(request)
    except HttpError as exc:
        return error_response(exc.status, exc.body, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _from_http_exception(request, exc)
    except (HttpProcessingError, web.RequestPayloadError):  # the body's framing or compression is broken
        return error_response(400, {"error": "the body cannot be read: its framing or content encoding is broken"})
    except ConnectionError:
        raise  # the client went away: nobody to answer
    except Exception:
        log.exception("%s %s failed", request.method, request.rel_url.raw_path)
        return error_response(500, {"error": "internal error"})


def admit(request: web.Request) -> None:
    """What is checked before any view runs, in order: token, URL, headers, declared size, method."""
    if request.rel_url.path_safe not in PUBLIC_PATHS:
        scopes_of(request)
    check_target(request.rel_url.raw_path, request.rel_url.raw_query_string)
    check_headers(request.headers.items())
    declared = request.content_length
    if declared is not None and declared > MAX_BODY_BYTES:
        raise HttpError(413, _too_large())
    allowed = _allowed(request)
    if request.method == "HEAD" and allowed is not None and "GET" not in allowed:
        raise HttpError(405, _not_allowed("HEAD", allowed), headers={"Allow": _allow(allowed)})


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> web.Response:
    headers = {name: value for name, value in exc.headers.items() if name.lower() not in _BODY_HEADERS}
    if isinstance(exc, web.HTTPMethodNotAllowed):
        headers["Allow"] = _allow(exc.allowed_methods)
        message = _not_allowed(request.method, exc.allowed_methods)
    elif isinstance(exc, web.HTTPNotFound):
        message = "no such route"
    elif isinstance(exc, web.HTTPRequestEntityTooLarge):
        message = _too_large()
    else:
        message = (exc.reason or "error").lower()
    return error_response(exc.status, {"error": message}, headers)


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    """A JSON error answer; ``json.dumps`` escapes every non-ASCII character, lone surrogates too."""
    return web.Response(status=status, text=json.dumps(body), content_type=JSON_TYPE, headers=headers)


def _allowed(request: web.Request) -> set[str] | None:
    """The methods the matched route serves (None when no route matched)."""
    resource = request.match_info.route.resource
    return None if resource is None else {route.method for route in resource}


def _allow(methods: set[str]) -> str:
    """The ``Allow`` header: HEAD only where GET is served (Faust registers HEAD on every route)."""
    return ", ".join(sorted(m for m in methods if m != "HEAD" or "GET" in methods))


def _not_allowed(method: str, methods: set[str]) -> str:
    return f"method {method} is not allowed here; allowed: {_allow(methods)}"


def _too_large() -> str:
    return f"body larger than {MAX_BODY_BYTES} bytes"


async def json_errors_outside(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """Before an answer is sent: an error answer that is not JSON gets a JSON body. Only answers
    made outside the gate are such (aiohttp's own, e.g. a 417 for an unknown ``Expect``)."""
    if response.status < 400 or not isinstance(response, web.Response) or response.content_type == JSON_TYPE:
        return
    body = json.dumps({"error": (response.reason or "error").lower()}).encode()
    response.content_type = JSON_TYPE
    response.body = body
    response.headers["Content-Length"] = str(len(body))  # aiohttp measured the old body before this hook


def install(web_app: web.Application) -> None:
    """Put the gate in front of every route of ``web_app`` (before it is frozen by the server start)."""
    if gate not in web_app.middlewares:
        web_app.middlewares.append(gate)
        web_app.on_response_prepare.append(json_errors_outside)


install(cast(AiohttpWeb, app.web).web_app)
