"""Operator views of DataCollect: every workload, who collects it, its last candle and lag.

``GET /workloads`` gathers the ``workloads`` table from the owning workers; each owner adds its
collector's status (last published open time, lag, counts, last error and its time: an
exchange failure, a timeout, a failed read-back of the cursor). Filters: ``exchange``,
``symbol``, ``timeframe``, ``active`` (true/false). Reads only.
"""

from __future__ import annotations

from typing import Any

from faust import web
from multidict import MultiMapping

from ..application import app
from ..collection import collector
from ..models import Workload, to_json
from ..tables.workloads import workloads
from .auth import READ, require
from .cluster import gather, local_items, me
from .inputs import choice, flag, query_of, single
from .responses import utc_iso

LOCAL_SCOPE = "local"
_FILTERS = ("exchange", "symbol", "timeframe")


@app.page("/workloads")
class WorkloadCollection(web.View):
    """All workloads (``?scope=local``: this worker's share)."""

    @require(READ)
    async def get(self, request: web.Request) -> web.Response:
        query = query_of(request)
        if choice(query, "scope", (LOCAL_SCOPE,)) == LOCAL_SCOPE:
            return self.json({"items": _local_workloads()})
        wanted = _wanted(query)
        items = await gather(request, workloads, f"/workloads?scope={LOCAL_SCOPE}", _local_workloads)
        items = [item for item in items if all(item[name] == value for name, value in wanted.items())]
        items.sort(key=lambda item: item["market"])
        return self.json({"items": items, "count": len(items)})


def _wanted(query: MultiMapping[str]) -> dict[str, Any]:
    """The filters of the query: exchange, symbol, timeframe (strings) and active (a boolean)."""
    found: dict[str, Any] = {name: single(query, name) for name in _FILTERS}
    found["active"] = flag(query, "active")
    return {name: value for name, value in found.items() if value is not None}


def _local_workloads() -> list[dict[str, Any]]:
    return [_describe(market, workload) for market, workload in local_items(workloads)]


def _describe(market: str, workload: Workload) -> dict[str, Any]:
    status = collector.status.get(market)
    lag = status.lag(workload.timeframe) if status else None
    return {
        **to_json(workload),
        "market": market,
        "active": workload.active,
        "sessions": workload.sessions,
        "worker": me(),
        "last_open_time": utc_iso(status.last_open) if status and status.last_open else None,
        "lag_seconds": lag.total_seconds() if lag is not None else None,
        "published": status.published if status else 0,
        "rejected": status.rejected if status else 0,
        "error": status.error if status else None,
        "error_at": utc_iso(status.error_at) if status and status.error_at else None,
    }
