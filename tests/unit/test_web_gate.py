"""The gate (r3edge_streams.web.gate) on a real aiohttp server with a few test routes: a token first
on every non-public path, JSON for aiohttp's errors with their status and headers, a logged JSON
500 for a failing view."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from faust.web.drivers.aiohttp import Web as AiohttpWeb

from r3edge_streams.application import MAX_BODY_BYTES, app
from r3edge_streams.web.gate import gate, install


async def broken(request: web.Request) -> web.Response:
    raise RuntimeError("a bug in a view")


async def refused(request: web.Request) -> web.Response:
    raise web.HTTPConflict(headers={"X-Reason": "busy"})


async def fine(request: web.Request) -> web.Response:
    return web.json_response({"read": len(await request.read())})


async def chunks(size: int) -> AsyncIterator[bytes]:
    for _ in range(size // 512):
        yield b"x" * 512


@pytest.fixture
async def client() -> AsyncIterator[TestClient[Any, Any]]:
    application = web.Application(client_max_size=1024)
    install(application)
    application.router.add_route("GET", "/health", broken)  # public paths: the token check stays out of the way
    application.router.add_route("POST", "/health", refused)
    application.router.add_route("POST", "/openapi.json", fine)
    application.router.add_route("GET", "/private", fine)
    async with TestClient(TestServer(application)) as test_client:
        yield test_client


async def answer(response: Any) -> tuple[int, dict[str, Any]]:
    assert response.content_type == "application/json"
    body = await response.json()
    assert isinstance(body["error"], str) and body["error"]
    return response.status, body


async def test_an_unexpected_failure_is_a_logged_json_500(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    status, body = await answer(await client.get("/health"))
    assert (status, body) == (500, {"error": "internal error"})
    assert any("GET /health failed" in record.message and record.exc_info for record in caplog.records)


async def test_aiohttp_errors_keep_their_status_and_headers_in_json(client: TestClient[Any, Any]) -> None:
    conflict = await client.post("/health")
    assert await answer(conflict) == (409, {"error": "conflict"}) and conflict.headers["X-Reason"] == "busy"
    declared = await client.post("/openapi.json", data=b"x" * (MAX_BODY_BYTES + 1))  # not read: refused at once
    assert await answer(declared) == (413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
    streamed = await client.post("/openapi.json", data=chunks(4096))  # chunked: aiohttp stops reading at 1024
    assert (await answer(streamed))[0] == 413
    wrong = await client.delete("/openapi.json")
    assert (await answer(wrong))[0] == 405 and wrong.headers["Allow"] == "POST"  # no HEAD without GET
    head = await client.head("/openapi.json")
    assert head.status == 405 and head.headers["Allow"] == "POST"


async def test_the_token_comes_before_routing(client: TestClient[Any, Any]) -> None:
    for method, path in [("GET", "/private"), ("GET", "/nowhere"), ("PUT", "/private"), ("GET", "/health/")]:
        response = await client.request(method, path)
        assert (await answer(response))[0] == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await answer(await client.get("/health?x=%FF")))[1]["field"] == "x"  # public: the URL is checked


def test_the_worker_application_is_gated() -> None:
    web_app = cast(AiohttpWeb, app.web).web_app
    assert list(web_app.middlewares) == [gate]
    install(web_app)  # once only
    assert list(web_app.middlewares) == [gate]
