"""Which MarketData serves an exchange id: the replay source for ``replay``, ccxt otherwise.

In: settings (API host overrides per exchange, replay folder and speed). Out: one cached
client per exchange id, closed together at shutdown.
Replay files are named ``<BASE>_<QUOTE>-<timeframe>.json`` (or ``.csv``), as in
``UNITTEST_BTC-1m.json``; the finest timeframe of a symbol is served, coarser ones resampled.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from ..config import Settings
from ..domain.candles import timeframe_delta
from ..domain.markets import TIMEFRAMES
from ..models import Candle
from .ccxt_client import CcxtExchange, ccxt_exchanges
from .errors import UnknownMarket
from .market_data import MarketData
from .ohlcv_files import load_ohlcv
from .replay import ReplayExchange, parse_speed

REPLAY_ID = "replay"
_FILE_RE = re.compile(r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)-(?P<timeframe>\w+)\.(json|csv)$")


def is_known_exchange(exchange_id: str) -> bool:
    """True for ``replay`` and for every exchange id ccxt supports."""
    return exchange_id == REPLAY_ID or exchange_id in ccxt_exchanges


class ExchangeRegistry:
    """Creates exchange clients on first use and keeps them."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._urls = dict(settings.exchange_urls)
        self._clients: dict[str, MarketData] = {}

    def get(self, exchange_id: str) -> MarketData:
        client = self._clients.get(exchange_id)
        if client is None:
            client = self._create(exchange_id)
            self._clients[exchange_id] = client
        return client

    def _create(self, exchange_id: str) -> MarketData:
        if exchange_id == REPLAY_ID:
            if self._settings.replay_dir is None:
                raise UnknownMarket("no replay folder configured (R3EDGE_REPLAY_DIR)")
            return replay_from_directory(self._settings.replay_dir, parse_speed(self._settings.replay_speed))
        return CcxtExchange(
            exchange_id,
            api_url=self._urls.get(exchange_id),
            timeout_ms=int(self._settings.exchange_timeout * 1000),
            time_sync=timedelta(seconds=self._settings.exchange_time_sync),
        )

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.close()


def replay_files(folder: Path) -> dict[str, tuple[str, Path]]:
    """Symbol -> (timeframe, path) of the finest OHLCV file of each market in ``folder``."""
    finest: dict[str, tuple[str, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = _FILE_RE.match(path.name)
        if not match or match["timeframe"] not in TIMEFRAMES:
            continue
        symbol = f"{match['base']}/{match['quote']}"
        known = finest.get(symbol)
        if known is None or timeframe_delta(match["timeframe"]) < timeframe_delta(known[0]):
            finest[symbol] = (match["timeframe"], path)
    return finest


def replay_file(folder: Path, symbol: str) -> Path | None:
    """The finest OHLCV file of ``symbol`` in the replay folder ``folder``, or None."""
    found = replay_files(folder).get(symbol) if folder.is_dir() else None
    return found[1] if found is not None else None


def replay_from_directory(folder: Path, speed: float) -> ReplayExchange:
    """A replay of every OHLCV file in ``folder``."""
    finest = replay_files(folder)
    if not finest:
        raise UnknownMarket(f"no OHLCV files named like UNITTEST_BTC-1m.json in {folder}")
    candles: dict[str, list[Candle]] = {
        symbol: load_ohlcv(path, REPLAY_ID, symbol, timeframe) for symbol, (timeframe, path) in finest.items()
    }
    return ReplayExchange(REPLAY_ID, candles, speed)
