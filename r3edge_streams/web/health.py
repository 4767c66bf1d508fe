"""Health view: is this worker up, and what does it own.

``GET /health`` answers 200 with the worker's URL, whether a rebalance is under way and how
many partitions it holds. Reads only Faust's own state.
"""

from __future__ import annotations

from faust import web

from ..application import app, settings


@app.page("/health")
class Health(web.View):
    """Liveness and assignment of this worker."""

    async def get(self, request: web.Request) -> web.Response:
        actives = app.assignor.assigned_actives()
        return self.json(
            {
                "status": "ok",
                "worker": str(app.conf.canonical_url),
                "app_id": settings.app_id,
                "rebalancing": bool(app.rebalancing),
                "active_partitions": len(actives),
                "trading_mode": settings.trading_mode.value,
            }
        )
