"""Market data messages: closed OHLCV candles, and a candle addressed to one strategy instance.

In: values from an exchange adapter or a replay file. Out: ``Candle`` on ``marketdata`` and
``StrategyCandle`` on ``strategiesdata``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Optional

from .base import Record


def market_key(exchange: str, symbol: str, timeframe: str) -> str:
    """The key of a market in ``marketdata``, ``workloadcommands`` and ``workloads``."""
    return f"{exchange}:{symbol}:{timeframe}"


class OnMarket:
    """Mixin for records about one market: ``market`` from their exchange, symbol, timeframe.

    It declares no fields (Faust would take annotations here for record fields): the record
    that mixes it in declares them.
    """

    if TYPE_CHECKING:
        exchange: str
        symbol: str
        timeframe: str

    @property
    def market(self) -> str:
        """The market key: ``exchange:symbol:timeframe``."""
        return market_key(self.exchange, self.symbol, self.timeframe)


class Candle(OnMarket, Record):
    """One closed candle of a market (exchange, symbol, timeframe) opening at ``open_time``.

    ``previous_open``: the open time of the market's candle published just before this one on
    ``marketdata`` (None: the first one, or an exchange's candle not yet published). Markets
    have gaps, so this link, not the timeframe, tells a consumer that it missed a candle.
    """

    exchange: str
    symbol: str
    timeframe: str
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    previous_open: Optional[datetime] = None


class StrategyCandle(Record):
    """A candle for strategy instance ``strategy_id`` (the join of marketdata and workloads)."""

    strategy_id: str
    candle: Candle
