"""Access control of the views: bearer tokens with a scope, from ``R3EDGE_API_TOKENS``.

In: the request's ``Authorization: Bearer <token>`` header and the configured (scope, SHA-256)
pairs. Out: nothing when the token's scope allows the view, else an HttpError: 401 (no token,
unknown token, or no tokens configured on this worker), 403 (a ``read`` token asking to change
something). Tokens are compared by digest in constant time and never logged or echoed.
The gate (``web/gate.py``) asks for a known token before routing, on every path but
``PUBLIC_PATHS``; each view then checks the scope it needs with :func:`require`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web as aioweb
from faust import web

from ..application import settings
from .errors import HttpError

READ = "read"
TRADER = "trader"
#: the paths answered without a token (liveness, the API description)
PUBLIC_PATHS = frozenset({"/health", "/openapi.json"})
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="r3edge_streams"'}
Handler = Callable[..., Awaitable[web.Response]]


def scopes_of(request: web.Request | aioweb.Request) -> set[str]:
    """The scopes the request's bearer token grants (401 when it grants nothing)."""
    if not settings.api_tokens:
        raise HttpError(401, "no API tokens are configured on this worker (set R3EDGE_API_TOKENS)", headers=_CHALLENGE)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HttpError(401, "a bearer token is required (Authorization: Bearer <token>)", headers=_CHALLENGE)
    # surrogateescape: a header byte that is not UTF-8 makes an unknown token, not an error
    digest = hashlib.sha256(token.strip().encode("utf-8", "surrogateescape")).hexdigest()
    scopes = {scope for scope, known in settings.api_tokens if hmac.compare_digest(known, digest)}
    if not scopes:
        raise HttpError(401, "unknown token", headers=_CHALLENGE)
    return scopes


def require(scope: str) -> Callable[[Handler], Handler]:
    """Decorate a view method: it runs only for a token with ``scope`` (``trader`` may also read)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(view: web.View, request: web.Request, *args: Any, **kwargs: Any) -> web.Response:
            granted = scopes_of(request)
            if scope not in granted and not (scope == READ and TRADER in granted):
                raise HttpError(403, f"this token may not do this: it needs the {scope} scope")
            return await handler(view, request, *args, **kwargs)

        return wrapper

    return decorate
