"""Reading keyed tables across workers: who owns a key, forwarding to it, gathering a table.

In: the partition assignment Faust shares between workers (table changelog partitions per
worker URL). Out: :func:`routed` answers a request on the worker that owns the key (forwarding
method, path, headers and body), :func:`gather` merges every owner's share of a table.
Standby replicas lag, so answers come only from active owners. A key's partition is computed
as Kafka's default partitioner does on the JSON key bytes, as the topics and tables write them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from faust import web
from faust.types import CollectionT, TableT

from ..application import app
from ..models.codec import partition_of
from .responses import HttpError

PEER_TIMEOUT = aiohttp.ClientTimeout(total=10)
FORWARDED = "X-R3edge-Forwarded-By"
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}
_ANSWER_HEADERS = ("Location", "WWW-Authenticate")  # the owner's answer headers a client needs


def owners(table: CollectionT) -> dict[int, str]:
    """Partition -> canonical URL of the worker holding it as active."""
    topic = table.changelog_topic.get_topic_name()
    found: dict[int, str] = {}
    for url, topics in app.router.tables_metadata().items():
        for partition in topics.get(topic, []):
            found[partition] = str(url).rstrip("/")
    return found


def me() -> str:
    """This worker's canonical URL."""
    return str(app.conf.canonical_url).rstrip("/")


def owner_of(table: CollectionT, key: str) -> str:
    """The URL of the worker that owns ``key``; 503 while its partition is unassigned."""
    partitions = table.partitions or app.conf.topic_partitions
    owner = owners(table).get(partition_of(key, partitions))
    if owner is None:
        raise HttpError(503, "partitions are not assigned yet (rebalancing); retry shortly")
    return owner


def local_items(table: TableT) -> list[tuple[str, Any]]:
    """The (key, value) pairs of ``table`` whose active partition this worker owns."""
    partitions = table.partitions or app.conf.topic_partitions
    mine = {partition for partition, url in owners(table).items() if url == me()}
    return [(key, value) for key, value in list(table.items()) if partition_of(key, partitions) in mine]


async def routed(
    view: web.View,
    request: web.Request,
    table: CollectionT,
    key: str,
    local: Callable[[], Awaitable[web.Response]],
    body: bytes | None = None,
) -> web.Response:
    """Answer with ``local()`` if this worker owns ``key``, else forward to the owner.

    ``body`` replaces the request's body when forwarding (a view that completed it, say with
    a generated id, forwards what it decided on).
    """
    owner = owner_of(table, key)
    if owner == me():
        return await local()
    if request.headers.get(FORWARDED):
        raise HttpError(503, "ownership of this key is moving between workers; retry shortly")
    return await _forward(view, request, owner, body)


async def _forward(view: web.View, request: web.Request, owner: str, body: bytes | None) -> web.Response:
    if body is None:
        body = await request.read()
    headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
    headers[FORWARDED] = me()
    url = f"{owner}{request.path_qs}"  # type: ignore[attr-defined]
    try:
        async with app.http_client.request(
            request.method, url, headers=headers, data=body, timeout=PEER_TIMEOUT
        ) as response:
            payload = await response.read()
            kept = {name: response.headers[name] for name in _ANSWER_HEADERS if name in response.headers}
            return view.bytes(payload, content_type=response.content_type, status=response.status, headers=kept)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise HttpError(503, f"owner {owner} unreachable: {exc.__class__.__name__}", worker=owner) from None


async def gather(request: web.Request, table: CollectionT, path: str, local: Callable[[], list[Any]]) -> list[Any]:
    """Every owner's share of ``table``: ``local()`` here, ``GET path`` (JSON ``items``) elsewhere.

    Peers are asked with the client's own credentials.
    """
    assigned = owners(table)
    if len(assigned) < (table.partitions or app.conf.topic_partitions):
        raise HttpError(503, "partitions are not all assigned yet (rebalancing); retry shortly")
    headers = {FORWARDED: me()}
    if "Authorization" in request.headers:
        headers["Authorization"] = request.headers["Authorization"]
    shares = await asyncio.gather(*(_share(url, path, local, headers) for url in sorted(set(assigned.values()))))
    return [item for share in shares for item in share]


async def _share(url: str, path: str, local: Callable[[], list[Any]], headers: dict[str, str]) -> list[Any]:
    if url == me():
        return local()
    try:
        async with app.http_client.get(f"{url}{path}", headers=headers, timeout=PEER_TIMEOUT) as response:
            if response.status != 200:
                raise HttpError(502, f"worker {url} answered {response.status}", worker=url)
            body = await response.json()
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise HttpError(503, f"worker {url} unreachable: {exc.__class__.__name__}", worker=url) from None
    items: list[Any] = body["items"]
    return items
