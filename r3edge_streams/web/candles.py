"""The candles view (the seed's MarketDataService): a market's closed candles over a range, paged.

``GET /candles?exchange=&symbol=&timeframe=&from=&to=&limit=`` (``read`` token), answered by
any worker from the same history the backtests read (:mod:`r3edge_streams.exchanges.history`:
the local SQLite cache in front of the exchange, or of the replay files): at most ``limit``
candles (default 500, at most 1,000) and ``next``, the ``from`` of the next page (null at the
end of the range, or when nothing newer has closed yet). Bad parameters are 400 naming the
parameter, an unknown market 404, an exchange that fails 502, and one that does not answer in
``CANDLES_TIMEOUT`` seconds 504, rather than a request left hanging.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from faust import web
from multidict import MultiMapping

from ..application import app
from ..collection import histories
from ..domain.markets import exchange_error, symbol_error, timeframe_error
from ..exchanges.errors import ExchangeError, UnknownMarket
from ..models import MalformedMessage
from ..models.codec import parse_time
from ..reports.build import candles_json
from .auth import READ, require
from .inputs import integer, query_of, single
from .responses import HttpError, utc_iso

CANDLES_TIMEOUT = 20.0  # seconds the exchange may take for a page
MAX_LIMIT = 1000


@app.page("/candles")
class Candles(web.View):
    """``GET``: a page of a market's closed candles over [from, to)."""

    @require(READ)
    async def get(self, request: web.Request) -> web.Response:
        query = query_of(request)
        exchange, symbol, timeframe = (_required(query, name) for name in ("exchange", "symbol", "timeframe"))
        for name, problem in (("exchange", exchange_error(exchange)), ("symbol", symbol_error(symbol)),
                              ("timeframe", timeframe_error(timeframe))):  # fmt: skip
            if problem is not None:
                raise HttpError(400, problem, name)
        start, end = _moment(_required(query, "from"), "from"), _moment(_required(query, "to"), "to")
        if start >= end:
            raise HttpError(400, "must be after from", "to")
        limit = integer(query, "limit", 500, 1, MAX_LIMIT)
        try:
            reader = histories.of(exchange)
            candles, following = await asyncio.wait_for(
                reader.page(symbol, timeframe, start, end, limit), CANDLES_TIMEOUT
            )
        except TimeoutError:
            raise HttpError(504, f"{exchange} did not give the candles within {CANDLES_TIMEOUT:.0f} s") from None
        except UnknownMarket as exc:
            raise HttpError(404, str(exc)[:300], "symbol") from None
        except ExchangeError as exc:
            raise HttpError(502, f"{exchange}: {str(exc)[:300]}") from None
        page = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "count": len(candles),
                "items": candles_json(candles), "next": utc_iso(following) if following else None}  # fmt: skip
        return self.json(page)


def _required(query: MultiMapping[str], name: str) -> str:
    value = single(query, name)
    if not value:
        raise HttpError(400, "is required", name)
    return value


def _moment(raw: str, name: str) -> datetime:
    try:
        return parse_time(raw, name)
    except MalformedMessage as exc:
        raise HttpError(400, exc.reason, name) from None
