"""Small synchronous JSON-over-HTTP client for tests (standard library only)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


#: the tokens test workers are configured with (tests/kit/workers.py)
TRADER_TOKEN = "test-trader-token-5b1f0c2e"
READ_TOKEN = "test-read-token-9d4a7e31"


def request(method: str, url: str, body: Any = None, *, raw: bytes | None = None,
            content_type: str = "application/json", timeout: float = 15.0,
            token: str | None = TRADER_TOKEN) -> Reply:
    """Send one request (as a trader unless ``token`` says otherwise); the reply's body is parsed
    JSON (or the text if it is not JSON)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return _reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return _reply(error.code, dict(error.headers), error.read())


def _reply(status: int, headers: dict[str, str], payload: bytes) -> Reply:
    try:
        body: Any = json.loads(payload)
    except ValueError:
        body = payload.decode(errors="replace")
    return Reply(status, headers, body)


def wait_for(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.25, what: str = "condition") -> Any:
    """Call ``check`` until it returns a truthy value; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (OSError, urllib.error.URLError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}")


async def wait_for_async(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.3,
                         what: str = "condition") -> Any:
    """Await ``check()`` until it returns a truthy value; fail after ``timeout`` seconds."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last result: {last!r}")
