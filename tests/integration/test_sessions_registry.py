"""The session registry on a real broker with real worker processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from r3edge_streams.localkafka import LocalKafka
from r3edge_streams.models import encode_key
from tests.kit.http import request, wait_for, wait_for_async
from tests.kit.kafka import produce, read_all
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


def create(worker: Worker, session_id: str, **overrides: Any) -> None:
    reply = request("POST", f"{worker.url}/sessions", {"session_id": session_id, **SPEC, **overrides})
    assert reply.status == 201, reply  # the owner waited for the session agent's decision
    assert reply.body["session_id"] == session_id
    assert reply.headers["Location"] == f"/sessions/{session_id}"


def fetch(worker: Worker, session_id: str, timeout: float = 30.0) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        reply = request("GET", f"{worker.url}/sessions/{session_id}")
        return reply.body if reply.status == 200 else None

    result: dict[str, Any] = wait_for(found, timeout, what=f"session {session_id} on {worker.url}")
    return result


def listed(worker: Worker) -> list[str]:
    reply = request("GET", f"{worker.url}/sessions")
    assert reply.status == 200, reply
    return [item["session_id"] for item in reply.body["items"]]


def command(session_id: str, **spec: Any) -> bytes:
    return json.dumps(
        {
            "command_id": f"create:{session_id}",
            "session_id": session_id,
            "kind": "create",
            "issued_at": "2024-03-01T12:00:00Z",
            "spec": {**SPEC, **spec},
        }
    ).encode()


def test_session_created_over_http_is_readable_over_http(workers: Callable[..., Worker]) -> None:
    worker = workers().start().wait_ready()
    create(worker, "alpha")
    session = fetch(worker, "alpha")
    assert session["status"] == "created"
    assert session["version"] == 1
    assert {k: v for k, v in session["spec"].items() if k in SPEC} == SPEC
    assert session["spec"]["risk"]["capital"] == "10000" and session["spec"]["account"] is None  # defaults
    assert session["created_at"].endswith("Z")
    assert listed(worker) == ["alpha"]


async def test_command_from_an_independent_kafka_client_is_applied(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers().start().wait_ready()
    await produce(
        kafka.bootstrap,
        f"{topic_prefix}.sessioncommands",
        [(encode_key("from-kafka"), command("from-kafka", symbol="ETH/BTC"))],
    )
    session = fetch(worker, "from-kafka")
    assert session["spec"]["symbol"] == "ETH/BTC"
    assert session["created_at"] == "2024-03-01T12:00:00Z"


def test_sigkill_and_restart_answers_from_the_recovered_table(workers: Callable[..., Worker]) -> None:
    worker = workers().start().wait_ready()
    ids = [f"s{n}" for n in range(12)]
    for session_id in ids:
        create(worker, session_id)
    for session_id in ids:
        fetch(worker, session_id)
    worker.kill()
    restarted = workers("w1", port=worker.port).start().wait_ready()
    # commands after the last commit are processed again (at least once): wait for them
    wait_for(lambda: sorted(listed(restarted)) == sorted(ids), 30, what="all sessions after restart")
    assert {k: v for k, v in fetch(restarted, "s7", timeout=5)["spec"].items() if k in SPEC} == SPEC


def test_restart_with_lost_local_state_recovers_from_the_changelog(workers: Callable[..., Worker]) -> None:
    worker = workers("first").start().wait_ready()
    for session_id in ("a1", "a2", "a3"):
        create(worker, session_id)
        fetch(worker, session_id)
    worker.kill()
    fresh = workers("second").start().wait_ready()  # new data directory: only Kafka has the state
    wait_for(lambda: sorted(listed(fresh)) == ["a1", "a2", "a3"], 30, what="sessions recovered from the changelog")


def test_two_workers_answer_every_key_by_routing_to_its_owner(workers: Callable[..., Worker]) -> None:
    first = workers("w1").start().wait_ready()
    second = workers("w2").start()
    second.wait_ready()
    wait_for(lambda: all(_owns_sessions(w) for w in (first, second)), what="both workers to own partitions")
    ids = [f"r{n}" for n in range(16)]
    for n, session_id in enumerate(ids):
        create(first if n % 2 else second, session_id)
    for session_id in ids:
        assert fetch(first, session_id)["session_id"] == session_id
        assert fetch(second, session_id)["session_id"] == session_id
    assert sorted(listed(first)) == sorted(ids) == sorted(listed(second))
    local_counts = [len(request("GET", f"{w.url}/sessions?scope=local").body["items"]) for w in (first, second)]
    assert sum(local_counts) == len(ids) and 0 not in local_counts, local_counts


def _owns_sessions(worker: Worker) -> bool:
    health = request("GET", f"{worker.url}/health").body
    return bool(health["active_partitions"] > 0 and not health["rebalancing"])


async def test_malformed_commands_are_dead_lettered_and_the_worker_keeps_consuming(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers().start().wait_ready()
    good = command("good")
    unknown_field = json.dumps({**json.loads(command("u")), "colour": "red"}).encode()
    wrong_type = json.loads(command("w"))
    wrong_type["spec"]["refresh_seconds"] = "often"
    bad = [
        (encode_key("x"), b"{not json"),
        (encode_key("u"), unknown_field),
        (encode_key("w"), json.dumps(wrong_type).encode()),
        (encode_key("someone-else"), command("mismatch")),
        (b"raw-key", command("raw-key")),
        (encode_key("binary"), b"\xff\xfe\x00"),
    ]
    await produce(kafka.bootstrap, f"{topic_prefix}.sessioncommands", [*bad, (encode_key("good"), good)])
    assert fetch(worker, "good")["session_id"] == "good"
    letters = await wait_for_async(lambda: _dead_letters(kafka, topic_prefix, len(bad)), 30, what="dead letters")
    reasons = {letter["value"]: letter["reason"] for letter in letters}
    assert "invalid JSON" in reasons["{not json"]
    assert reasons[unknown_field.decode()] == "colour: unknown field"
    assert reasons[json.dumps(wrong_type)].startswith("spec.refresh_seconds: must be an integer")
    assert "does not match" in reasons[command("mismatch").decode()]
    assert "key is not JSON" in reasons[command("raw-key").decode()]
    binary = [letter for letter in letters if letter["value_encoding"] == "base64"]
    assert [letter["value"] for letter in binary] == ["//4A"]
    assert all(letter["source_topic"] == f"{topic_prefix}.sessioncommands" for letter in letters)
    assert request("GET", f"{worker.url}/sessions/u").status == 404
    assert worker.process is not None and worker.process.poll() is None


async def _dead_letters(kafka: LocalKafka, prefix: str, expected: int) -> list[dict[str, Any]] | None:
    records = await read_all(kafka.bootstrap, f"{prefix}.deadletters")
    letters = [json.loads(record.value or b"null") for record in records]
    return letters if len(letters) >= expected else None


async def test_rejected_command_is_notified(
    workers: Callable[..., Worker], kafka: LocalKafka, topic_prefix: str
) -> None:
    worker = workers().start().wait_ready()
    create(worker, "dup")
    fetch(worker, "dup")
    other = json.loads(command("dup", symbol="ETH/USDT"))
    await produce(kafka.bootstrap, f"{topic_prefix}.sessioncommands", [(encode_key("dup"), json.dumps(other).encode())])

    async def notices() -> list[dict[str, Any]]:
        records = await read_all(kafka.bootstrap, f"{topic_prefix}.notifications")
        return [json.loads(r.value or b"null") for r in records]

    found = await wait_for_async(notices, 30, what="a notification")
    assert [n["category"] for n in found] == ["session.command_rejected"]
    assert found[0]["session_id"] == "dup" and "already exists" in found[0]["body"]
    assert fetch(worker, "dup")["spec"]["symbol"] == "BTC/USDT"


@pytest.mark.parametrize(
    ("body", "raw", "content_type", "status", "field"),
    [
        (None, b"{bad json", "application/json", 400, None),
        (None, b"[1, 2]", "application/json", 400, None),
        ({**SPEC, "colour": "red"}, None, "application/json", 400, "colour"),
        ({**SPEC, "refresh_seconds": "5s"}, None, "application/json", 400, "refresh_seconds"),
        ({k: v for k, v in SPEC.items() if k != "symbol"}, None, "application/json", 400, "symbol"),
        ({**SPEC, "mode": "yolo"}, None, "application/json", 400, "mode"),
        ({**SPEC, "symbol": "btcusdt"}, None, "application/json", 422, "symbol"),
        ({**SPEC, "mode": "live"}, None, "application/json", 422, "mode"),
        ({**SPEC, "refresh_seconds": 0}, None, "application/json", 422, "refresh_seconds"),
        ({**SPEC, "strategy": "no_such_strategy"}, None, "application/json", 422, "strategy"),
        ({**SPEC, "exchange": "binanse"}, None, "application/json", 422, "exchange"),
        ({**SPEC, "parameters": {"fast": 50, "slow": 20}}, None, "application/json", 422, "parameters"),
        ({**SPEC, "session_id": "bad id!"}, None, "application/json", 400, "session_id"),
        (SPEC, None, "text/plain", 415, None),
    ],
)
def test_malformed_http_requests_get_4xx_json(
    shared_worker: Worker, body: Any, raw: bytes | None, content_type: str, status: int, field: str | None
) -> None:
    worker = shared_worker
    reply = request("POST", f"{worker.url}/sessions", body, raw=raw, content_type=content_type)
    assert reply.status == status, reply
    assert isinstance(reply.body, dict) and reply.body["error"]
    assert reply.body.get("field") == field
    assert request("GET", f"{worker.url}/health").status == 200


def test_unknown_and_invalid_session_ids_get_json_errors(shared_worker: Worker) -> None:
    worker = shared_worker
    missing = request("GET", f"{worker.url}/sessions/nobody")
    assert missing.status == 404 and missing.body["field"] == "session_id"
    invalid = request("GET", f"{worker.url}/sessions/bad%20id")
    assert invalid.status == 400 and invalid.body["field"] == "session_id"
