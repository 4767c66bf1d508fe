"""Strategy views: every strategy instance, its market, its followers, last candle and failure.

``GET /strategies`` gathers the ``active_strategies`` table from its owners; ``?active=true``
keeps the instances that have sessions. ``POST /strategies/{id}/reset``, answered by the
owner, publishes a reset of a failed instance on ``strategycommands`` (409 if it has not failed).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from faust import web

from ..application import app
from ..catalogue import STRATEGYCOMMANDS
from ..models import ActiveStrategy, StrategyAction, StrategyCommand, to_json
from ..tables.active_strategies import active_strategies
from ..tables.strategy_windows import strategy_windows
from ..topics import publish
from .auth import READ, TRADER, require
from .cluster import gather, local_items, routed
from .inputs import choice, flag, query_of
from .responses import HttpError, utc_iso

LOCAL_SCOPE = "local"


@app.page("/strategies")
class StrategyCollection(web.View):
    """All strategy instances (``?scope=local``: this worker's share)."""

    @require(READ)
    async def get(self, request: web.Request) -> web.Response:
        query = query_of(request)
        if choice(query, "scope", (LOCAL_SCOPE,)) == LOCAL_SCOPE:
            return self.json({"items": _local()})
        wanted = flag(query, "active")
        items = await gather(request, active_strategies, f"/strategies?scope={LOCAL_SCOPE}", _local)
        if wanted is not None:
            items = [item for item in items if item["active"] == wanted]
        items.sort(key=lambda item: item["strategy_id"])
        return self.json({"items": items, "count": len(items)})


@app.page("/strategies/{strategy_id}/reset")
class StrategyReset(web.View):
    """``POST``: give a failed instance a fresh start (new window, warmed from history)."""

    @require(TRADER)
    async def post(self, request: web.Request, strategy_id: str) -> web.Response:
        if not strategy_id or len(strategy_id) > 128:
            raise HttpError(400, "must be a strategy instance id", "strategy_id")

        async def local() -> web.Response:
            instance = active_strategies.get(strategy_id)
            if instance is None:
                raise HttpError(404, f"no strategy instance {strategy_id}", "strategy_id")
            window = strategy_windows.get(strategy_id)
            if window is None or not window.failed:
                raise HttpError(409, f"strategy instance {strategy_id} has not failed", "strategy_id")
            if window.generation >= instance.generation:  # else a reset is on its way already
                await publish(STRATEGYCOMMANDS, _reset_command(instance))
            return self.json({"strategy_id": strategy_id, "status": "accepted", "location": "/strategies"}, status=202)

        return await routed(self, request, active_strategies, strategy_id, local)


def _reset_command(instance: ActiveStrategy) -> StrategyCommand:
    return StrategyCommand(
        command_id=f"reset:{instance.strategy_id}:{uuid4().hex}",
        action=StrategyAction.RESET,
        strategy_id=instance.strategy_id,
        strategy=instance.strategy,
        parameters=instance.parameters,
        exchange=instance.exchange,
        symbol=instance.symbol,
        timeframe=instance.timeframe,
        at=datetime.now(timezone.utc),
    )


def _local() -> list[dict[str, Any]]:
    return [_describe(instance) for _, instance in local_items(active_strategies)]


def _describe(instance: ActiveStrategy) -> dict[str, Any]:
    window = strategy_windows.get(instance.strategy_id)  # same key, same partition: local
    return {
        **to_json(instance),
        "market": instance.market,
        "active": instance.active,
        "failed": window.failed if window and window.generation >= instance.generation else None,
        "reset_pending": bool(window and window.failed and window.generation < instance.generation),
        "last_candle": utc_iso(window.last_open) if window and window.last_open else None,
    }
