"""Small synchronous JSON-over-HTTP client for tests (standard library only), and the waits.

Every timeout here is scaled by the patience factor (``TEST_PATIENCE``, see
``tests/kit/patience.py``); a wait that runs out raises ``TimedOut``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .patience import Pending, TimedOut, Watch, patient

__all__ = [
    "READ_TOKEN",
    "TRADER_TOKEN",
    "Pending",
    "Reply",
    "RequestTimedOut",
    "TimedOut",
    "request",
    "wait_for",
    "wait_for_async",
]


class RequestTimedOut(TimedOut, TimeoutError):
    """No answer within the request's timeout; also a ``TimeoutError`` (an ``OSError``), as the
    socket's time-out was before, so ``wait_for`` still retries it."""


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: its status, headers and body (parsed JSON, or the text)."""

    status: int
    headers: dict[str, str]
    body: Any


#: the tokens test workers are configured with (tests/kit/workers.py)
TRADER_TOKEN = "test-trader-token-5b1f0c2e"
READ_TOKEN = "test-read-token-9d4a7e31"


def request(
    method: str,
    url: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    content_type: str = "application/json",
    timeout: float = 30.0,
    token: str | None = TRADER_TOKEN,
) -> Reply:
    """Send one request (as a trader unless ``token`` says otherwise); the reply's body is parsed
    JSON (or the text if it is not JSON). ``timeout`` (for the socket) is scaled by the patience
    factor; no answer in time raises ``RequestTimedOut``.

    30 s by default (15 s before): a write may wait ``R3EDGE_COMMAND_WAIT`` (10 s) for the agent
    before it answers, and a 15 s limit left a busy worker only 5 s for the rest (seen failing).
    """
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    limit = patient(timeout)
    try:
        with urllib.request.urlopen(req, timeout=limit) as response:
            return _reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return _reply(error.code, dict(error.headers), error.read())
    except (TimeoutError, urllib.error.URLError) as error:
        if isinstance(error, urllib.error.URLError) and not isinstance(error.reason, TimeoutError):
            raise
        raise RequestTimedOut(f"an answer to {method} {url}", limit, limit, "no answer") from error


def _reply(status: int, headers: dict[str, str], payload: bytes) -> Reply:
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = payload.decode(errors="replace")
    return Reply(status, headers, body)


def wait_for(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.25, what: str = "condition") -> Any:
    """Call ``check`` until it returns a truthy value and return that value; after ``timeout``
    seconds (times the patience factor) raise ``TimedOut``.

    ``check`` is called at least once, and once more at the deadline. An ``OSError`` or
    ``URLError`` it raises (a worker restarting, a connection refused) counts as "not yet" and is
    retried; anything else, an ``AssertionError`` above all (a wrong result), propagates at once:
    retrying a wrong answer could only hide it until the time-out.
    """
    watch = Watch(timeout, what)
    while True:
        try:
            value = check()
        except (OSError, urllib.error.URLError) as exc:
            value = exc
        else:
            if value:
                return value
        watch.saw(value)
        if watch.remaining() <= 0:
            raise watch.timed_out()
        time.sleep(min(interval, max(watch.remaining(), 0.0)))


async def wait_for_async(
    check: Callable[[], Awaitable[Any]], timeout: float = 60.0, interval: float = 0.3, what: str = "condition"
) -> Any:
    """Await ``check()`` until it returns a truthy value and return that value; after ``timeout``
    seconds (times the patience factor) raise ``TimedOut``.

    Like ``wait_for`` but nothing is retried: any exception of ``check``, an ``AssertionError``
    (a wrong result) included, propagates at once.
    """
    watch = Watch(timeout, what)
    while True:
        value = await check()
        if value:
            return value
        watch.saw(value)
        if watch.remaining() <= 0:
            raise watch.timed_out()
        await asyncio.sleep(min(interval, max(watch.remaining(), 0.0)))


def start_session(base: str, session_id: str, timeout: float = 60.0) -> Reply:
    """``POST /sessions/{id}/start`` as a test's set-up: 200, or 202 (the worker was too busy to
    wait for the decision: the start follows) and then the session seen active."""
    reply = request("POST", f"{base}/sessions/{session_id}/start")
    assert reply.status in (200, 202), reply
    if reply.status == 202:

        def active() -> Any:
            seen = request("GET", f"{base}/sessions/{session_id}")
            return seen.status == 200 and seen.body.get("status") == "active" or Pending(f"{seen.status}: {seen.body}")

        wait_for(active, timeout, interval=0.5, what=f"session {session_id} active after its 202")
    return reply
