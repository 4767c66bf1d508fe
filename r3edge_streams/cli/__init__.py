"""The application's commands beside ``worker`` (``faust -A r3edge_streams <command>``).

Importing this package registers them on the app: :mod:`.backtest`.
"""

from __future__ import annotations

from . import backtest

__all__ = ["backtest"]
