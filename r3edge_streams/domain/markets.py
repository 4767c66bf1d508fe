"""Markets: timeframes, symbols and exchange ids as the engine accepts them (pure).

In: strings from requests and messages. Out: validated values and timeframe lengths.
"""

from __future__ import annotations

import re
from datetime import timedelta

TIMEFRAMES: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "3m": timedelta(minutes=3),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "4h": timedelta(hours=4),
    "6h": timedelta(hours=6),
    "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
    "1w": timedelta(weeks=1),
}

_EXCHANGE_RE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$")


def exchange_error(exchange: str) -> str | None:
    """Why ``exchange`` is not a ccxt-style exchange id, or None."""
    if _EXCHANGE_RE.match(exchange):
        return None
    return "must be a lowercase exchange id such as 'binance' or 'kucoin'"


def symbol_error(symbol: str) -> str | None:
    """Why ``symbol`` is not a unified symbol (``BASE/QUOTE`` or ``BASE/QUOTE:SETTLE``), or None."""
    if SYMBOL_RE.match(symbol):
        return None
    return "must be a unified symbol such as 'BTC/USDT'"


def timeframe_error(timeframe: str) -> str | None:
    """Why ``timeframe`` is not supported, or None."""
    if timeframe in TIMEFRAMES:
        return None
    return "must be one of " + ", ".join(TIMEFRAMES)
