"""Hostile HTTP against a real worker: every malformed request gets a 4xx answer, JSON with an
"error" (aiohttp's own parser refusals before the application are a plain 4xx), tokens come before
routing, oversized bodies are refused however they are framed without being read to their end,
and after each case the worker is up and still creates and reads a session.

Requests go over loopback through raw sockets (bytes exactly as written) or http.client."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from r3edge_streams.application import MAX_BODY_BYTES
from tests.kit.http import READ_TOKEN, TRADER_TOKEN, request
from tests.kit.workers import Worker

SPEC: dict[str, Any] = {
    "strategy": "sma_cross",
    "parameters": {"fast": 5, "slow": 20},
    "exchange": "binance",
    "symbol": "BTC/USDT",
    "timeframe": "1m",
    "mode": "paper",
    "refresh_seconds": 5,
}
JSON = "Content-Type: application/json"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw)


def head(method: str, target: str | bytes, *headers: str | bytes, token: str | None = TRADER_TOKEN) -> bytes:
    """A request's head: request line, Host, the bearer token unless None, ``headers``, blank line."""
    line = target if isinstance(target, bytes) else target.encode()
    fields = [b"%s %s HTTP/1.1" % (method.encode(), line), b"Host: 127.0.0.1"]
    if token is not None:
        fields.append(f"Authorization: Bearer {token}".encode())
    fields += [field if isinstance(field, bytes) else field.encode() for field in headers]
    return b"\r\n".join(fields) + b"\r\n\r\n"


def with_body(method: str, target: str, body: bytes, *headers: str | bytes, token: str | None = TRADER_TOKEN) -> bytes:
    return head(method, target, *headers, f"Content-Length: {len(body)}", token=token) + body


def read_answer(sock: socket.socket, method: str) -> Answer:
    response = http.client.HTTPResponse(sock, method=method)  # skips a 100 Continue
    response.begin()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())


def exchange(worker: Worker, data: bytes, method: str = "GET") -> Answer:
    """Send ``data`` on a fresh connection and read one answer."""
    with socket.create_connection(("127.0.0.1", worker.port), timeout=30) as sock:
        sock.sendall(data)
        return read_answer(sock, method)


def refused(answer: Answer, status: int, field: str | None = None) -> dict[str, Any]:
    """``answer`` is ``status`` with a JSON error body (naming ``field`` when given)."""
    assert answer.status == status, answer
    assert answer.headers["content-type"].startswith("application/json"), answer
    body: dict[str, Any] = answer.body
    assert isinstance(body["error"], str) and body["error"], body
    if field is not None:
        assert body.get("field") == field, body
    return body


def still_serving(worker: Worker) -> None:
    """The worker process is alive and still creates and reads a session."""
    assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
    session_id = f"ok-{uuid.uuid4().hex[:12]}"
    created = request("POST", f"{worker.url}/sessions", {"session_id": session_id, **SPEC})
    assert created.status == 201, created
    read = request("GET", f"{worker.url}/sessions/{session_id}")
    assert read.status == 200 and read.body["session_id"] == session_id, read


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (nested(100_000), [JSON], 413, "larger than"),  # 200 KB: over the limit before it is parsed
        (nested(30_000), [JSON], 400, "nested deeper"),  # within the limit: deep enough to overflow a parser
        (json.dumps({**SPEC, "parameters": {"x": json.loads(nested(40).decode())}}).encode(), [JSON], 400, "nested"),
        (b"not json at all", [JSON], 400, "invalid JSON"),
        (b"\xff\xfe\x00{", [JSON], 400, "invalid JSON"),
        (json.dumps({**SPEC, "symbol": "\ud800"}).encode(), [JSON], 400, "surrogate"),
        (json.dumps({**SPEC, "parameters": {"fast": 5, "slow": 20, "\udcff": 1}}).encode(), [JSON], 400, "surrogate"),
        (b"[1, 2]", [JSON], 400, "JSON object"),
        (json.dumps(SPEC).encode(), ["Content-Type: text/json"], 415, "Content-Type"),
        (json.dumps(SPEC).encode(), ["Content-Type: ;;;"], 415, "Content-Type"),
        (b"not gzip", [JSON, "Content-Encoding: gzip"], 400, "content encoding"),
        (gzip.compress(b" " * (10 * MIB)), [JSON, "Content-Encoding: gzip"], 413, "larger than"),  # 10 KB inflating
    ],
)
def test_malformed_bodies_get_4xx_json(
    shared_worker: Worker, body: bytes, headers: list[str], status: int, message: str
) -> None:
    answer = exchange(shared_worker, with_body("POST", "/sessions", body, *headers), "POST")
    assert message in refused(answer, status)["error"]
    still_serving(shared_worker)


@pytest.mark.parametrize(
    "content_type",
    [
        'application/json; charset=utf-8; profile="a;b"',
        "APPLICATION/JSON",
        "application/json;;;",
        "application/json ; charset",
    ],
)
def test_a_json_content_type_with_odd_parameters_is_still_json(shared_worker: Worker, content_type: str) -> None:
    session_id = f"ct-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"session_id": session_id, **SPEC}).encode()
    answer = exchange(shared_worker, with_body("POST", "/sessions", body, f"Content-Type: {content_type}"), "POST")
    assert answer.status == 201 and answer.body["session_id"] == session_id, answer
    still_serving(shared_worker)


@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, MIB + 1, 5 * MIB])
def test_a_body_over_the_limit_with_content_length_is_413(shared_worker: Worker, size: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", shared_worker.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/sessions",
            body=b"x" * size,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TRADER_TOKEN}"},
        )
        response = connection.getresponse()
        answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
    assert str(MAX_BODY_BYTES) in refused(answer, 413)["error"]
    still_serving(shared_worker)


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(shared_worker: Worker) -> None:
    """Only the head is sent: an answer proves the worker did not wait for the 5 MiB."""
    for method, path in [("POST", "/sessions"), ("GET", "/sessions"), ("GET", "/health")]:
        answer = exchange(shared_worker, head(method, path, JSON, f"Content-Length: {5 * MIB}"), method)
        refused(answer, 413)
    expecting = exchange(
        shared_worker, head("POST", "/sessions", JSON, f"Content-Length: {5 * MIB}", "Expect: 100-continue"), "POST"
    )
    refused(expecting, 413)
    still_serving(shared_worker)


def test_a_chunked_body_of_5_mib_is_refused_without_being_read_to_its_end(shared_worker: Worker) -> None:
    """5 MiB of chunks and never the last chunk: the worker can only answer if it stops reading early."""
    with socket.create_connection(("127.0.0.1", shared_worker.port), timeout=30) as sock:
        sock.sendall(head("POST", "/sessions", JSON, "Transfer-Encoding: chunked"))
        sender = threading.Thread(target=_send_chunks, args=(sock, 5 * MIB), daemon=True)
        sender.start()
        answer = read_answer(sock, "POST")
        sender.join(30)
    refused(answer, 413)
    still_serving(shared_worker)


def _send_chunks(sock: socket.socket, total: int, size: int = 64 * 1024) -> None:
    chunk = b"%x\r\n%s\r\n" % (size, b" " * size)
    try:
        for _ in range(total // size):
            sock.sendall(chunk)
    except OSError:
        pass  # the worker may close the connection once it has answered


def test_broken_chunked_framing_is_a_clean_400(shared_worker: Worker) -> None:
    answer = exchange(
        shared_worker, head("POST", "/sessions", JSON, "Transfer-Encoding: chunked") + b"zz\r\nab\r\n", "POST"
    )
    assert answer.status == 400, answer  # aiohttp's parser: plain text, the connection closed
    still_serving(shared_worker)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=%D9%A1%D9%A2", "limit"),  # Arabic-Indic ١٢
        ("offset=%D9%A1%D9%A2", "offset"),
        ("limit=%EF%BC%91%EF%BC%92", "limit"),  # full-width １２
        ("limit=%C2%B2", "limit"),  # superscript two: isdigit() but not int()
        ("offset=" + "9" * 5000, "offset"),  # more digits than int() converts
        ("limit=-1", "limit"),
        ("limit=1e3", "limit"),
        ("limit=1&limit=2", "limit"),
        ("status=%00", "status"),
        ("scope=global", "scope"),
    ],
)
def test_query_integers_and_choices_are_strict(shared_worker: Worker, query: str, field: str) -> None:
    refused(exchange(shared_worker, head("GET", f"/sessions?{query}")), 400, field)
    still_serving(shared_worker)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/strategies?active=1", "active"),
        ("/workloads?active=yes", "active"),
        ("/workloads?symbol=a&symbol=b", "symbol"),
        ("/strategies?scope=other", "scope"),
    ],
)
def test_every_listing_checks_its_query(shared_worker: Worker, path: str, field: str) -> None:
    refused(exchange(shared_worker, head("GET", path)), 400, field)
    still_serving(shared_worker)


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ("/sessions?strategy=%FF", "strategy"),
        ("/sessions?strategy=%C3", "strategy"),
        ("/sessions?strategy=%ZZ", "strategy"),
        ("/sessions?limit=10%", "limit"),
        ("/sessions?%FF=1", "query"),
        ("/sessions/%FF", "path"),
        ("/sessions/%ED%A0%80/start", "path"),
        ("/health?x=%FF", "x"),
    ],
)
def test_invalid_utf8_or_percent_encoding_in_the_url_is_400(shared_worker: Worker, target: str, field: str) -> None:
    method = "POST" if target.endswith("/start") else "GET"
    refused(exchange(shared_worker, head(method, target), method), 400, field)
    still_serving(shared_worker)


def test_raw_bytes_that_are_not_ascii_in_the_url_are_a_clean_400(shared_worker: Worker) -> None:
    for target in [b"/sessions?limit=\xd9\xa1", b"/sessions?strategy=\xff", b"/sessions/\xff"]:
        assert exchange(shared_worker, head("GET", target)).status == 400, target  # aiohttp's parser, plain text
    still_serving(shared_worker)


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/sessions/a/start/extra",
        "/health/",
        "//sessions",
        "/sessions/a/b/c",
        "/router",
        "/table",
        "/stats/",
        "/sessions/%FF/x/y",
    ],
)
def test_unknown_routes_are_401_without_a_token_and_404_json_with_one(shared_worker: Worker, path: str) -> None:
    anonymous = exchange(shared_worker, head("GET", path, token=None))
    refused(anonymous, 401)
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    refused(exchange(shared_worker, head("GET", path, token="not-a-known-token-at-all")), 401)
    if "%FF" not in path:
        refused(exchange(shared_worker, head("GET", path, token=READ_TOKEN)), 404)
    still_serving(shared_worker)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/sessions", "GET, HEAD, POST"),
        ("DELETE", "/sessions", "GET, HEAD, POST"),
        ("POST", "/sessions/s1", "DELETE, GET, HEAD, PATCH"),
        ("GET", "/sessions/s1/start", "POST"),
        ("HEAD", "/sessions/s1/start", "POST"),
        ("PATCH", "/strategies", "GET, HEAD"),
        ("GET", "/strategies/x/reset", "POST"),
        ("OPTIONS", "/workloads", "GET, HEAD"),
        ("PROPFIND", "/sessions", "GET, HEAD, POST"),
    ],
)
def test_wrong_methods_are_401_without_a_token_and_405_json_with_allow(
    shared_worker: Worker, method: str, path: str, allow: str
) -> None:
    anonymous = exchange(shared_worker, head(method, path, token=None), method)
    assert anonymous.status == 401 and "www-authenticate" in anonymous.headers, anonymous
    answer = exchange(shared_worker, head(method, path), method)
    assert answer.status == 405 and answer.headers["allow"] == allow, answer
    if method != "HEAD":
        assert method in refused(answer, 405)["error"]
    still_serving(shared_worker)


def test_public_paths_answer_wrong_methods_without_a_token(shared_worker: Worker) -> None:
    for method, path in [("DELETE", "/health"), ("POST", "/openapi.json")]:
        answer = exchange(shared_worker, head(method, path, token=None), method)
        refused(answer, 405)
        assert answer.headers["allow"] == "GET, HEAD"
    still_serving(shared_worker)


def test_head_and_a_body_on_get(shared_worker: Worker) -> None:
    for path, token in [("/sessions", TRADER_TOKEN), ("/health", None), ("/openapi.json", None)]:
        answer = exchange(shared_worker, head("HEAD", path, token=token), "HEAD")
        assert answer.status == 200 and answer.raw == b"", answer
    anonymous = exchange(shared_worker, head("HEAD", "/sessions", token=None), "HEAD")
    assert anonymous.status == 401 and anonymous.raw == b"", anonymous
    ignored = exchange(shared_worker, with_body("GET", "/sessions", json.dumps(SPEC).encode(), JSON))
    assert ignored.status == 200 and "items" in ignored.body, ignored
    chunked = head("GET", "/sessions?limit=1", "Transfer-Encoding: chunked") + b"5\r\nhello\r\n0\r\n\r\n"
    assert exchange(shared_worker, chunked).status == 200
    still_serving(shared_worker)


def test_headers_that_are_not_utf8_too_long_or_unexpected(shared_worker: Worker) -> None:
    refused(exchange(shared_worker, head("GET", "/sessions", b"X-Odd: a\xff\xfeb")), 400, "X-Odd")
    refused(exchange(shared_worker, head("GET", "/sessions", b"Authorization: Bearer \xff\xfe", token=None)), 401)
    refused(
        exchange(
            shared_worker,
            with_body("POST", "/sessions", json.dumps(SPEC).encode(), JSON, "Expect: something-else"),
            "POST",
        ),
        417,
    )
    for many in (["X-Long: " + "a" * 100_000], [f"X-Many-{n}: x" for n in range(500)]):
        answer = exchange(shared_worker, head("GET", "/sessions", *many))
        assert 400 <= answer.status < 500, answer  # aiohttp's parser limits: a plain 4xx before the application
    still_serving(shared_worker)
