"""Strategy views: every strategy instance, its market, its followers, last candle and failure.

``GET /strategies`` gathers the ``active_strategies`` table from its owners; ``?active=true``
keeps the instances that have sessions. Reads only.
"""

from __future__ import annotations

from typing import Any

from faust import web

from ..application import app
from ..models import ActiveStrategy, to_json
from ..tables.active_strategies import active_strategies
from ..tables.strategy_windows import strategy_windows
from .cluster import gather, local_items
from .responses import HttpError, json_errors

LOCAL_SCOPE = "local"


@app.page("/strategies")
class StrategyCollection(web.View):
    """All strategy instances (``?scope=local``: this worker's share)."""

    @json_errors
    async def get(self, request: web.Request) -> web.Response:
        if request.query.get("scope") == LOCAL_SCOPE:
            return self.json({"items": _local()})
        items = await gather(active_strategies, f"/strategies?scope={LOCAL_SCOPE}", _local)
        wanted = request.query.get("active")
        if wanted not in (None, "true", "false"):
            raise HttpError(400, "must be true or false", "active")
        if wanted is not None:
            items = [item for item in items if item["active"] == (wanted == "true")]
        items.sort(key=lambda item: item["strategy_id"])
        return self.json({"items": items, "count": len(items)})


def _local() -> list[dict[str, Any]]:
    return [_describe(instance) for _, instance in local_items(active_strategies)]


def _describe(instance: ActiveStrategy) -> dict[str, Any]:
    window = strategy_windows.get(instance.strategy_id)  # same key, same partition: local
    return {**to_json(instance), "market": instance.market, "active": instance.active,
            "failed": window.failed if window else None,
            "last_candle": to_json(window.candles[-1])["open_time"] if window and window.candles else None}
