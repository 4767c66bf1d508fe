"""r3edge_streams: a crypto trading engine as one Faust application on Kafka.

``faust -A r3edge_streams worker`` finds ``app`` here. The application is built on first
access, so importing the pure core (``r3edge_streams.domain``, ``.models``) builds no app.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name == "app":
        from . import cli  # noqa: F401 - registers the app's commands (``backtest``)
        from .application import app

        return app
    raise AttributeError(f"module 'r3edge_streams' has no attribute {name!r}")
