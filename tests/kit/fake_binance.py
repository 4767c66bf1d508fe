"""A local fake of Binance's SPOT REST API, for driving real ccxt code over real HTTP.

What it serves (on ``http://127.0.0.1:<ephemeral port>``, shapes as documented at
https://developers.binance.com/docs/binance-spot-api-docs/rest-api):

* ``GET /api/v3/ping`` -> ``{}``
* ``GET /api/v3/time`` -> ``{"serverTime": now}``
* ``GET /api/v3/exchangeInfo`` (optional ``symbol`` / ``symbols``) -> one TRADING spot entry per market,
  with PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL and MAX_NUM_ORDERS filters (see ``SymbolRules``).
* ``GET /api/v3/klines`` (``symbol``, ``interval``, ``startTime``, ``endTime``, ``limit`` default 500,
  max 1000) -> 12-element rows ``[openTime, "open", "high", "low", "close", "volume", closeTime,
  "quoteVolume", trades, "takerBuyBase", "takerBuyQuote", "0"]``.  Prices and volumes are the exact
  decimals of the given 1m candles, printed as strings with (at least) 8 decimals as Binance does.
  Quote volume, trade count and taker volumes are not in the source data and are served as zero.
  Intervals: 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d (UTC-epoch aligned), 1w (Monday) and 1M
  (calendar month), resampled from 1m: open of first, max high, min low, close of last, sum of volume;
  buckets without any 1m candle are skipped (the data has gaps).  1s and 3d answer -1120.
  Selection: rows with ``startTime <= openTime <= endTime``; with ``startTime`` the first ``limit`` rows,
  otherwise the last ``limit`` rows (the most recent ones, ending at ``endTime`` if given).  A ``limit``
  above 1000 is served as 1000 and one below 1 answers -1100 (the exact real answer is not verified).

Signed (account) endpoints, answered from the order book of :mod:`.fake_binance_book` (signature,
balances, matching, commission are described there); ``fake.open_account(key, secret, balances)``
first:

* ``POST /api/v3/order`` (``symbol``, ``side``, ``type`` MARKET or LIMIT, ``quantity``, ``price`` and
  ``timeInForce`` for LIMIT, ``newClientOrderId``, ``newOrderRespType`` ACK/RESULT/FULL) -> the order;
  a client id of an open order again is -2010 ``Duplicate order sent.``; filters are -1013
  ``Filter failure: LOT_SIZE`` / ``PRICE_FILTER`` / ``NOTIONAL``; -2010 ``Account has insufficient
  balance for requested action.``
* ``GET /api/v3/order`` (``orderId`` or ``origClientOrderId``) -> the order, or -2013 ``Order does not exist.``
* ``DELETE /api/v3/order`` -> the cancelled order, or -2011 ``Unknown order sent.``
* ``GET /api/v3/openOrders`` (``symbol`` optional), ``GET /api/v3/allOrders`` (``symbol``;
  ``orderId``, ``startTime``, ``endTime``, ``limit``), ``GET /api/v3/account`` (balances),
  ``GET /api/v3/myTrades`` (``symbol``; ``orderId``, ``fromId``, ``startTime``, ``endTime``, ``limit``)

``fake.book`` is the fake's own record of every accepted order and trade: what tests judge by.
``fake.restart()`` drops every connection and serves again on the same port with the same book.

Time: the server never reads the clock.  ``fake.now_ms`` (default: the close of the last 1m candle) is
"now": 1m candles opening after it do not exist yet, ``/time`` and ``serverTime`` report it, and the
candle containing it is served as still forming (close time in the future, aggregated from the 1m
candles opened so far) -- exactly like the real exchange returns the current open candle.  One
approximation: a forming *1m* candle is served with its final values (there is no intra-minute data).

Errors are Binance's: HTTP 400 ``{"code": -1121, "msg": "Invalid symbol."}``, -1102 (missing parameter),
-1100 (malformed parameter), -1120 (bad interval), -1023 (start after end), -1101 (duplicate parameter);
unknown paths answer 404.  Faults are scripted per path with ``fake.fail_next(path, kind, times=n)``:

* ``"rate_limit"``  429 + ``Retry-After`` + ``{"code": -1003, ...}``     -> ccxt ``DDoSProtection``
* ``"ip_ban"``      418 + ``Retry-After`` + ``{"code": -1003, ...}``     -> ccxt ``DDoSProtection``
* ``"server_error"`` 502 (or ``status=``) with a gateway's HTML page       -> ccxt ``ExchangeNotAvailable``
  (500/502/503; a 504 maps to ``RequestTimeout``)
* ``"timeout"``     answers only after ``delay`` seconds (default 5)       -> ccxt ``RequestTimeout``
* ``"malformed"``   200 with the real JSON body cut in half (or ``body=``) -> ccxt raises NOTHING: it hands
  back the unparsed text, so ``fetch_ohlcv`` returns ``[]`` and ``load_markets`` returns ``{}``
* ``"disconnect"``  drops the connection without answering              -> ccxt ``ExchangeNotAvailable``, but
  only with ``times=2`` when the connection was kept alive: aiohttp silently retries such a GET once
* ``"accept_then_timeout"`` / ``"accept_then_disconnect"`` / ``"accept_then_server_error"``: the request
  takes effect (an order is accepted) and then its answer is lost: held past ``delay`` seconds and
  dropped, dropped at once, or replaced by a 5xx page. A fault's key may name the method too
  (``"POST /api/v3/order"``); ``retry_after=`` sets a rate limit's ``Retry-After``.

A signed request taken more than its ``recvWindow`` after its ``timestamp`` (wall clock, as
ccxt stamps it) is refused with -1021, as Binance refuses a request delayed on its way.

A slow and strict exchange: ``fake.latency`` seconds pass before every request is handled (and
answered); ``fake.account_limit`` requests of one account (``X-MBX-APIKEY``) in any trailing
second are served, and one more is answered 429 with ``Retry-After: 1`` (Binance's -1003) and
kept in ``fake.refused_for_rate``. ``fake.hold()`` keeps every request waiting (unanswered, not
yet taken) until ``fake.release()``: an exchange that has gone silent; ``hold(accounts_only=True)``
holds only the signed (account) requests, so market data still flows.

Every request that reaches the server (faulted or not) is recorded: ``fake.requests`` is a list of
``(path, params)``; ``fake.log`` also has the method, the arrival (``time.monotonic()``) and the
``X-MBX-APIKEY``; ``fake.requests_per_second(key)`` counts an account's requests per second.

Usage with real ccxt (the construction the tests prove)::

    async with FakeBinance({"UNITTEST/BTC": load_candles(DATA)}) as fake:
        exchange = ccxt.async_support.binance(ccxt_config(fake.url))
        try:
            await exchange.load_markets()      # GET /api/v3/exchangeInfo only
            rows = await exchange.fetch_ohlcv("UNITTEST/BTC", "1m", since=..., limit=1000)
        finally:
            await exchange.close()

``ccxt_config(url)`` returns ``{"enableRateLimit": True, "timeout": 10000, "urls": {"api": {...every
ccxt binance API base, re-pointed at url + its path, e.g. "public": url + "/api/v3"}}, "options":
{"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False,
"adjustForTimeDifference": False}, "exceptions": {"exact": <ccxt's spot-only error codes>}}``.
The spot-only codes are merged in because ccxt applies them only to URLs starting with
``https://api.binance.com/``; with them the fake maps errors as the real spot API does.

Extending: add a handler ``def handler(state: ExchangeState, params: Params) -> Json`` and a ``Route``
to ``ROUTES`` (``signed=True`` for an account endpoint: ``params[API_KEY]`` is then the account);
keep the mutable exchange state on ``ExchangeState``; raise ``BinanceError``.
"""

from __future__ import annotations

import asyncio
import bisect
import calendar
import decimal
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple, get_args
from urllib.parse import urlsplit

from aiohttp import web

from .fake_binance_book import Book, BookError, MarketView

Json = Any
Params = dict[str, str]
CandleInput = Sequence[int | Decimal | str]
FaultKind = Literal[
    "timeout",
    "rate_limit",
    "ip_ban",
    "server_error",
    "malformed",
    "disconnect",
    "accept_then_timeout",
    "accept_then_disconnect",
    "accept_then_server_error",
]
ACCEPTING_FAULTS = ("accept_then_timeout", "accept_then_disconnect", "accept_then_server_error")

MINUTE_MS = 60_000
DAY_MS = 1_440 * MINUTE_MS
WEEK_MS = 7 * DAY_MS
FIXED_INTERVALS_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
}
INTERVALS: tuple[str, ...] = (*FIXED_INTERVALS_MS, "1w", "1M")
KLINES_DEFAULT_LIMIT = 500
KLINES_MAX_LIMIT = 1000
SYMBOL_RE = re.compile(r"^[A-Z0-9\-_.]{1,20}$")
INT_RE = re.compile(r"^-?[0-9]{1,20}$")
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
_WIDE = decimal.Context(prec=64)


# ----------------------------------------------------------------------------------------------- data


class Candle(NamedTuple):
    """One candle: open time (ms, UTC) and exact decimal prices / base volume."""

    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def load_candles(path: str | Path) -> list[list[Any]]:
    """Read a ``[[open_time_ms, open, high, low, close, volume], ...]`` JSON file keeping exact decimals."""
    rows: list[list[Any]] = json.loads(Path(path).read_text(), parse_float=Decimal)
    return rows


def to_candle(row: CandleInput) -> Candle:
    """Convert one input row; numbers must be Decimal, int or decimal strings (never floats)."""
    if len(row) != 6:
        raise ValueError(f"a candle has 6 fields, got {row!r}")
    if any(isinstance(value, float) for value in row):
        raise TypeError(f"floats are not exact; give Decimal or str: {row!r}")
    return Candle(int(row[0]), *(Decimal(value) for value in row[1:]))


def format_decimal(value: Decimal, places: int = 8) -> str:
    """Binance's number strings: fixed point, at least ``places`` decimals, never rounded."""
    padded = value.quantize(Decimal(1).scaleb(-places), context=_WIDE)
    return format(padded if padded == value else value, "f")


# ------------------------------------------------------------------------------------------ intervals


def bucket_start(interval: str, time_ms: int) -> int:
    """Open time of the ``interval`` candle containing ``time_ms``."""
    if interval in FIXED_INTERVALS_MS:
        return time_ms - time_ms % FIXED_INTERVALS_MS[interval]
    if interval == "1w":  # weeks start on Monday 00:00 UTC; 1970-01-01 was a Thursday
        return time_ms - (time_ms + 3 * DAY_MS) % WEEK_MS
    moment = datetime.fromtimestamp(time_ms / 1000, tz=timezone.utc)
    return calendar.timegm((moment.year, moment.month, 1, 0, 0, 0)) * 1000


def bucket_end(interval: str, open_time: int) -> int:
    """Open time of the candle after the one opening at ``open_time`` (its close time is this - 1)."""
    if interval in FIXED_INTERVALS_MS:
        return open_time + FIXED_INTERVALS_MS[interval]
    if interval == "1w":
        return open_time + WEEK_MS
    moment = datetime.fromtimestamp(open_time / 1000, tz=timezone.utc)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


def resample(candles: Iterable[Candle], interval: str) -> list[Candle]:
    """Aggregate 1m candles into ``interval`` buckets; empty buckets do not appear."""
    out: list[Candle] = []
    for candle in candles:
        start = bucket_start(interval, candle.open_time)
        if out and out[-1].open_time == start:
            out[-1] = _merge(out[-1], candle)
        else:
            out.append(candle._replace(open_time=start))
    return out


def _merge(bucket: Candle, candle: Candle) -> Candle:
    return Candle(
        bucket.open_time,
        bucket.open,
        max(bucket.high, candle.high),
        min(bucket.low, candle.low),
        candle.close,
        _WIDE.add(bucket.volume, candle.volume),
    )


# ------------------------------------------------------------------------------------------- markets


@dataclass(frozen=True)
class SymbolRules:
    """The trading rules published in exchangeInfo (strings exactly as Binance prints them)."""

    tick_size: str = "0.00000001"
    min_price: str = "0.00000001"
    max_price: str = "1000.00000000"
    step_size: str = "1.00000000"
    min_qty: str = "1.00000000"
    max_qty: str = "90000000.00000000"
    min_notional: str = "0.00010000"
    max_notional: str = "9000000.00000000"
    base_precision: int = 8
    quote_precision: int = 8


@dataclass
class Market:
    """One spot market and its 1m candles (sorted by open time)."""

    symbol: str
    base: str
    quote: str
    candles: list[Candle]
    rules: SymbolRules = field(default_factory=SymbolRules)
    open_times: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.candles.sort(key=lambda candle: candle.open_time)
        self.open_times = [candle.open_time for candle in self.candles]

    @property
    def id(self) -> str:
        return self.base + self.quote

    def visible_count(self, now_ms: int) -> int:
        """How many 1m candles have opened by ``now_ms``."""
        return bisect.bisect_right(self.open_times, now_ms)


def make_market(symbol: str, candles: Iterable[CandleInput], rules: SymbolRules | None = None) -> Market:
    base, _, quote = symbol.partition("/")
    if not base or not quote:
        raise ValueError(f"a unified spot symbol looks like 'BASE/QUOTE', got {symbol!r}")
    return Market(symbol, base, quote, [to_candle(row) for row in candles], rules or SymbolRules())


# --------------------------------------------------------------------------------------------- state


class Series(NamedTuple):
    """Candles of one interval, with their open times for bisection."""

    candles: list[Candle]
    open_times: list[int]


class LoggedRequest(NamedTuple):
    method: str
    path: str
    params: Params
    at: float = 0.0  # time.monotonic() when it arrived (requests per second, per account)
    api_key: str | None = None  # the X-MBX-APIKEY header, if any


@dataclass
class Fault:
    kind: FaultKind
    times: int
    status: int | None = None
    delay: float = 5.0
    body: str | None = None
    retry_after: int | None = None  # a rate limit's Retry-After (default: until the minute's end)


@dataclass
class ExchangeState:
    """Everything the fake exchange knows; handlers read and (later) mutate it."""

    markets: dict[str, Market]
    now_ms: int
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    log: list[LoggedRequest] = field(default_factory=list)
    book: Book = field(default_factory=Book)
    _series_cache: dict[tuple[str, str, int], Series] = field(default_factory=dict)
    _views: dict[tuple[str, int], MarketView] = field(default_factory=dict)

    def market(self, market_id: str) -> Market:
        if not SYMBOL_RE.match(market_id):
            raise BinanceError(
                -1100, f"Illegal characters found in parameter 'symbol'; legal range is '{SYMBOL_RE.pattern}'."
            )
        if market_id not in self.markets:
            raise BinanceError(-1121, "Invalid symbol.")
        return self.markets[market_id]

    def series(self, market: Market, interval: str) -> Series:
        """The ``interval`` candles that exist at ``now_ms`` (the last one may be forming)."""
        count = market.visible_count(self.now_ms)
        key = (market.id, interval, count)
        if key not in self._series_cache:
            candles = resample(market.candles[:count], interval)
            self._series_cache[key] = Series(candles, [candle.open_time for candle in candles])
        return self._series_cache[key]

    def view(self, market: Market) -> MarketView:
        """The market as the order book sees it now: rules and the 1m candles opened by ``now_ms``."""
        count = market.visible_count(self.now_ms)
        key = (market.id, count)
        if key not in self._views:
            rules = market.rules
            bars = [(c.open_time, c.open, c.high, c.low, c.close) for c in market.candles[:count]]
            self._views = {k: v for k, v in self._views.items() if k[0] != market.id}
            self._views[key] = MarketView(market.id, market.base, market.quote, Decimal(rules.step_size),
                                          Decimal(rules.min_qty), Decimal(rules.max_qty), Decimal(rules.tick_size),
                                          Decimal(rules.min_price), Decimal(rules.max_price),
                                          Decimal(rules.min_notional), bars, market.open_times[:count])  # fmt: skip
        return self._views[key]

    def matched(self) -> None:
        """Let the book fill what the candles opened by now allow (before every signed request)."""
        self.book.match({market.id: self.view(market) for market in self.markets.values()}, self.now_ms)

    def take_fault(self, path: str, method: str = "GET") -> Fault | None:
        queue = self.faults.get(f"{method} {path}") or self.faults.get(path) or self.faults.get("*")
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault


BinanceError = BookError  # an error answer: ``{"code": code, "msg": msg}`` with HTTP ``status``


# ------------------------------------------------------------------------------------- param parsing


def required(params: Params, name: str) -> str:
    value = params.get(name, "")
    if value == "":
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def optional_int(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not INT_RE.match(value):
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '{INT_RE.pattern}'.")
    return int(value)


def klines_limit(params: Params) -> int:
    limit = optional_int(params, "limit")
    if limit is None:
        return KLINES_DEFAULT_LIMIT
    if limit < 1:
        raise BinanceError(-1100, "Illegal characters found in parameter 'limit'; legal range is '[1, 1000]'.")
    return min(limit, KLINES_MAX_LIMIT)


# ------------------------------------------------------------------------------------------ handlers


def handle_ping(state: ExchangeState, params: Params) -> Json:
    return {}


def handle_time(state: ExchangeState, params: Params) -> Json:
    return {"serverTime": state.now_ms}


def handle_exchange_info(state: ExchangeState, params: Params) -> Json:
    return {
        "timezone": "UTC",
        "serverTime": state.now_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(market) for market in _info_markets(state, params)],
    }


def _info_markets(state: ExchangeState, params: Params) -> list[Market]:
    if "symbol" in params:
        return [state.market(params["symbol"])]
    if "symbols" in params:
        try:
            ids = json.loads(params["symbols"])
        except ValueError:
            raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
        return [state.market(str(market_id)) for market_id in ids]
    return list(state.markets.values())


def symbol_info(market: Market) -> Json:
    rules = market.rules
    return {
        "symbol": market.id,
        "status": "TRADING",
        "baseAsset": market.base,
        "baseAssetPrecision": rules.base_precision,
        "quoteAsset": market.quote,
        "quotePrecision": rules.quote_precision,
        "quoteAssetPrecision": rules.quote_precision,
        "baseCommissionPrecision": rules.base_precision,
        "quoteCommissionPrecision": rules.quote_precision,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": symbol_filters(rules),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def symbol_filters(rules: SymbolRules) -> list[Json]:
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": rules.min_price,
            "maxPrice": rules.max_price,
            "tickSize": rules.tick_size,
        },
        {"filterType": "LOT_SIZE", "minQty": rules.min_qty, "maxQty": rules.max_qty, "stepSize": rules.step_size},
        {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": rules.max_qty, "stepSize": "0.00000000"},
        {
            "filterType": "NOTIONAL",
            "minNotional": rules.min_notional,
            "applyMinToMarket": True,
            "maxNotional": rules.max_notional,
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    ]


def handle_klines(state: ExchangeState, params: Params) -> Json:
    market = state.market(required(params, "symbol"))
    interval = required(params, "interval")
    if interval not in INTERVALS:
        raise BinanceError(-1120, "Invalid interval.")
    start, end, limit = optional_int(params, "startTime"), optional_int(params, "endTime"), klines_limit(params)
    if start is not None and end is not None and start > end:
        raise BinanceError(-1023, "Start time is greater than end time.")
    rows = select(state.series(market, interval), start, end, limit)
    return [kline_row(candle, interval, market.rules) for candle in rows]


def select(series: Series, start: int | None, end: int | None, limit: int) -> list[Candle]:
    """Binance's selection by open time: from ``start`` the first ``limit``, else the last ``limit``."""
    low = 0 if start is None else bisect.bisect_left(series.open_times, start)
    high = len(series.candles) if end is None else bisect.bisect_right(series.open_times, end)
    if start is not None:
        return series.candles[low : min(high, low + limit)]
    return series.candles[max(low, high - limit) : high]


def kline_row(candle: Candle, interval: str, rules: SymbolRules) -> Json:
    zero_quote = format_decimal(Decimal(0), rules.quote_precision)
    zero_base = format_decimal(Decimal(0), rules.base_precision)
    return [
        candle.open_time,
        *(format_decimal(price, rules.quote_precision) for price in candle[1:5]),
        format_decimal(candle.volume, rules.base_precision),
        bucket_end(interval, candle.open_time) - 1,
        zero_quote,
        0,
        zero_base,
        zero_quote,
        "0",
    ]


# signed (account) endpoints: ``params`` carries the authenticated account's key as ``API_KEY``
API_KEY = "__api_key__"


def handle_new_order(state: ExchangeState, params: Params) -> Json:
    market = state.market(required(params, "symbol"))
    order = state.book.place(params[API_KEY], params, state.view(market), state.now_ms)
    kind = params.get("newOrderRespType") or "FULL"  # MARKET and LIMIT default to FULL
    if kind not in ("ACK", "RESULT", "FULL"):
        raise BinanceError(-1177, "Invalid newOrderRespType.")
    return order.placed_json(kind)


def handle_query_order(state: ExchangeState, params: Params) -> Json:
    state.market(required(params, "symbol"))
    return state.book.find(params[API_KEY], params, (-2013, "Order does not exist.")).json()


def handle_cancel_order(state: ExchangeState, params: Params) -> Json:
    market = state.market(required(params, "symbol"))
    order = state.book.find(params[API_KEY], params, (-2011, "Unknown order sent."))
    cancelled = state.book.cancel(order, state.view(market), state.now_ms)
    body = {key: value for key, value in cancelled.json().items() if key not in ("time", "updateTime", "isWorking")}
    return {**body, "origClientOrderId": order.client_order_id,
            "clientOrderId": params.get("newClientOrderId") or f"cancel{order.order_id}",
            "transactTime": state.now_ms}  # fmt: skip


def handle_open_orders(state: ExchangeState, params: Params) -> Json:
    market_id = state.market(params["symbol"]).id if "symbol" in params else None
    return [order.json() for order in state.book.open_orders(params[API_KEY], market_id)]


def handle_all_orders(state: ExchangeState, params: Params) -> Json:
    market = state.market(required(params, "symbol"))
    return [order.json() for order in state.book.all_orders(params[API_KEY], market.id, params)]


def handle_account(state: ExchangeState, params: Params) -> Json:
    return {"makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000",
                                "seller": "0.00000000"},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": state.now_ms,
            "accountType": "SPOT", "balances": state.book.balances(params[API_KEY]), "permissions": ["SPOT"],
            "uid": 354937868}  # fmt: skip


def handle_my_trades(state: ExchangeState, params: Params) -> Json:
    market = state.market(required(params, "symbol"))
    return [trade.json() for trade in state.book.my_trades(params[API_KEY], market.id, params)]


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[[ExchangeState, Params], Json]
    signed: bool = False


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/v3/ping", handle_ping),
    Route("GET", "/api/v3/time", handle_time),
    Route("GET", "/api/v3/exchangeInfo", handle_exchange_info),
    Route("GET", "/api/v3/klines", handle_klines),
    Route("POST", "/api/v3/order", handle_new_order, signed=True),
    Route("GET", "/api/v3/order", handle_query_order, signed=True),
    Route("DELETE", "/api/v3/order", handle_cancel_order, signed=True),
    Route("GET", "/api/v3/openOrders", handle_open_orders, signed=True),
    Route("GET", "/api/v3/allOrders", handle_all_orders, signed=True),
    Route("GET", "/api/v3/account", handle_account, signed=True),
    Route("GET", "/api/v3/myTrades", handle_my_trades, signed=True),
)


# ------------------------------------------------------------------------------------------ responses


def json_response(payload: Json, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps(payload, separators=(",", ":"))
    return web.Response(
        status=status, body=body.encode(), headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
    )


def error_response(error: BinanceError, headers: Mapping[str, str] | None = None) -> web.Response:
    return json_response({"code": error.code, "msg": error.msg}, error.status, headers)


def gateway_page(status: int) -> str:
    reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(
        status, "Error"
    )
    return (
        f'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<HTML><HEAD><TITLE>{status} '
        f"{reason}</TITLE></HEAD><BODY><H1>{status} ERROR</H1><H2>The request could not be satisfied."
        f'</H2><HR noshade size="1px">\n</BODY></HTML>'
    )


def retry_after(now_ms: int) -> str:
    """Seconds until the current one-minute weight window ends (what Binance puts in Retry-After)."""
    return str(max(1, math.ceil((MINUTE_MS - now_ms % MINUTE_MS) / 1000)))


def rate_limit_response(state: ExchangeState, fault: Fault) -> web.Response:
    headers = {"Retry-After": str(fault.retry_after) if fault.retry_after else retry_after(state.now_ms)}
    if fault.kind == "ip_ban":
        until = state.now_ms + 2 * MINUTE_MS
        return error_response(
            BinanceError(
                -1003,
                f"Way too much request weight used; IP banned until {until}. "
                "Please use WebSocket Streams for live updates to avoid bans.",
                fault.status or 418,
            ),
            headers,
        )
    return error_response(
        BinanceError(
            -1003,
            "Too much request weight used; current limit is 6000 request "
            "weight per 1 MINUTE. Please use WebSocket Streams for live "
            "updates to avoid polling the API.",
            fault.status or 429,
        ),
        headers,
    )


def server_error_response(fault: Fault) -> web.Response:
    status = fault.status or 502
    body = gateway_page(status) if fault.body is None else fault.body
    return web.Response(status=status, text=body, content_type="text/html")


def malformed_response(fault: Fault, response: web.StreamResponse) -> web.Response:
    """A 200 whose JSON does not parse: ``fault.body`` if given, else the real answer cut in half."""
    if fault.body is not None:
        body = fault.body.encode()
    elif isinstance(response, web.Response) and isinstance(response.body, bytes):
        body = response.body[: max(1, len(response.body) // 2)]
    else:
        body = b'{"code":'
    return web.Response(status=200, body=body, headers={"Content-Type": JSON_CONTENT_TYPE})


# ----------------------------------------------------------------------------------------- the server


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PARAMS = web.RequestKey("params", dict)


async def request_params(request: web.Request) -> Params:
    """Query string plus form body (Binance accepts both); a repeated name is Binance's -1101."""
    items = list(request.query.items())
    if request.can_read_body and request.content_type == "application/x-www-form-urlencoded":
        items += [(key, str(value)) for key, value in (await request.post()).items()]
    params = dict(items)
    if len(params) != len(items):
        raise BinanceError(-1101, "Duplicate values for a parameter detected.")
    return params


class FakeBinance:
    """The fake exchange: ``async with FakeBinance({"UNITTEST/BTC": rows}) as fake: ... fake.url``."""

    def __init__(
        self,
        markets: Mapping[str, Iterable[CandleInput]],
        *,
        now_ms: int | None = None,
        rules: Mapping[str, SymbolRules] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        built = [make_market(symbol, rows, (rules or {}).get(symbol)) for symbol, rows in markets.items()]
        self.state = ExchangeState(
            {market.id: market for market in built}, default_now(built) if now_ms is None else now_ms
        )
        self._host = host
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._closing = asyncio.Event()
        self._open = asyncio.Event()
        self._open.set()
        self.latency = 0.0
        self.account_limit: int | None = None
        self.refused_for_rate: list[LoggedRequest] = []
        self._held = 0
        self._hold_accounts_only = False

    # -- lifecycle

    async def start(self) -> FakeBinance:
        self._closing.clear()
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()  # a restart keeps its port
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        self._closing.set()
        self._open.set()  # held requests are let go (and dropped with their connections)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self, down_for: float = 0.0) -> None:
        """Stop serving (connections drop), wait ``down_for`` seconds, serve again on the same port
        with the same book: orders, trades and balances survive, as on the real exchange."""
        await self.close()
        await asyncio.sleep(down_for)
        await self.start()

    async def __aenter__(self) -> FakeBinance:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the fake exchange is not started")
        return f"http://{self._host}:{self._port}"

    # -- control

    @property
    def now_ms(self) -> int:
        return self.state.now_ms

    @now_ms.setter
    def now_ms(self, value: int) -> None:
        self.state.now_ms = value

    def set_now(self, value: int) -> None:
        self.state.now_ms = value

    def advance(self, milliseconds: int) -> None:
        """Time passes; the book fills what the candles opened meanwhile allow (nobody need ask)."""
        self.state.now_ms += milliseconds
        self.state.matched()

    def fail_next(
        self,
        path: str,
        kind: FaultKind,
        times: int = 1,
        *,
        status: int | None = None,
        delay: float = 5.0,
        body: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next ``times`` requests to ``path`` ("*" = any path; "POST /api/v3/order" = that method
        only) get fault ``kind`` (queued in order)."""
        if times < 1 or kind not in get_args(FaultKind):
            raise ValueError(f"bad fault: {kind!r} x {times}")
        self.state.faults.setdefault(path, deque()).append(Fault(kind, times, status, delay, body, retry_after))

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def hold(self, accounts_only: bool = False) -> None:
        """From now on every request (every signed one, with ``accounts_only``) waits, unanswered
        and not taken, until ``release()``."""
        self._hold_accounts_only = accounts_only
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    @property
    def holding(self) -> int:
        """How many requests wait at the hold now."""
        return self._held

    @property
    def log(self) -> list[LoggedRequest]:
        return self.state.log

    @property
    def requests(self) -> list[tuple[str, Params]]:
        return [(entry.path, entry.params) for entry in self.state.log]

    def requests_to(self, path: str) -> list[Params]:
        return [entry.params for entry in self.state.log if entry.path == path]

    @property
    def book(self) -> Book:
        """The fake's own record of accounts, orders and trades: what the tests judge by."""
        return self.state.book

    def open_account(self, api_key: str, secret: str, balances: Mapping[str, Decimal | str]) -> None:
        self.state.book.open_account(api_key, secret, dict(balances))

    def requests_per_second(self, api_key: str | None = None) -> list[int]:
        """How many requests (of ``api_key``'s account, or all) arrived in each second of the log."""
        times = [entry.at for entry in self.state.log if api_key is None or entry.api_key == api_key]
        if not times:
            return []
        counts = [0] * (int(times[-1] - times[0]) + 1)
        for moment in times:
            counts[int(moment - times[0])] += 1
        return counts

    def clear_requests(self) -> None:
        self.state.log.clear()

    # -- HTTP

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        for route in ROUTES:
            app.router.add_route(route.method, route.path, self._endpoint(route))
        return app

    def _endpoint(self, route: Route) -> Handler:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            params = request[PARAMS]
            if route.signed:
                signed_text = request.query_string if request.method in ("GET", "DELETE") else await request.text()
                key = self.state.book.authenticate(request.headers.get("X-MBX-APIKEY"), signed_text, params)
                _within_recv_window(params)
                params = {**params, API_KEY: key}
                self.state.matched()
            return json_response(route.handler(self.state, params))

        return endpoint

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            request[PARAMS] = await request_params(request)
        except BinanceError as error:
            return error_response(error)
        api_key = request.headers.get("X-MBX-APIKEY")
        entry = LoggedRequest(request.method, request.path, request[PARAMS], time.monotonic(), api_key)
        self.state.log.append(entry)
        if self._over_limit(entry):
            self.refused_for_rate.append(entry)
            return rate_limit_response(self.state, Fault("rate_limit", 1, retry_after=1))
        await self._held_and_delayed(api_key is not None or not self._hold_accounts_only)
        fault = self.state.take_fault(request.path, request.method)
        try:
            return await self._answer(request, handler, fault)
        except BinanceError as error:
            return error_response(error)

    def _over_limit(self, entry: LoggedRequest) -> bool:
        """Whether ``entry`` is one more than its account's ``account_limit`` in the last second."""
        if self.account_limit is None or entry.api_key is None:
            return False
        count = 0
        for earlier in reversed(self.state.log):
            if entry.at - earlier.at >= 1.0:
                break
            count += earlier.api_key == entry.api_key
        return count > self.account_limit

    async def _held_and_delayed(self, holdable: bool) -> None:
        if holdable and not self._open.is_set():
            self._held += 1
            try:
                await self._open.wait()
            finally:
                self._held -= 1
        if self.latency:
            await self._sleep(self.latency)

    async def _answer(self, request: web.Request, handler: Handler, fault: Fault | None) -> web.StreamResponse:
        if fault is None:
            return await handler(request)
        if fault.kind in ACCEPTING_FAULTS:
            return await self._accept_then_fail(request, handler, fault)
        if fault.kind in ("rate_limit", "ip_ban"):
            return rate_limit_response(self.state, fault)
        if fault.kind == "server_error":
            return server_error_response(fault)
        if fault.kind == "malformed":
            return malformed_response(fault, await handler(request))
        if fault.kind == "disconnect":
            return await self._disconnect(request)
        await self._sleep(fault.delay)
        return await handler(request)

    async def _accept_then_fail(self, request: web.Request, handler: Handler, fault: Fault) -> web.StreamResponse:
        """The request takes effect (an order is accepted), but its answer never arrives intact."""
        await handler(request)
        if fault.kind == "accept_then_server_error":
            return server_error_response(fault)
        if fault.kind == "accept_then_disconnect":
            return await self._disconnect(request)
        await self._sleep(fault.delay)
        return await self._disconnect(request)  # past the client's timeout: nothing it could still read

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up at once when the server closes (so shutdown never waits for it)."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    async def _disconnect(self, request: web.Request) -> web.StreamResponse:
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()


def _within_recv_window(params: Params) -> None:
    """Binance refuses a signed request it takes more than ``recvWindow`` ms (default 5,000) after
    the request's ``timestamp``, so a request held up on its way is never executed late. The
    fake's own clock replays the past, so the wall clock (which ccxt stamps) is the judge here."""
    window = int(params.get("recvWindow") or 5000)
    if int(params["timestamp"]) + window < time.time() * 1000:
        raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def default_now(markets: Iterable[Market]) -> int:
    """The close of the last 1m candle: every 1m candle is closed, nothing newer exists yet."""
    last = [market.open_times[-1] for market in markets if market.open_times]
    return max(last) + MINUTE_MS if last else 0


# ----------------------------------------------------------------------------------------- ccxt side


@lru_cache(maxsize=1)
def _ccxt_binance_description() -> dict[str, Any]:
    import ccxt  # the sync class describes the same exchange; imported lazily, only for its tables

    description: dict[str, Any] = ccxt.binance().describe()
    return description


def ccxt_api_urls(fake_url: str) -> dict[str, str]:
    """Every API base ccxt's binance knows, re-pointed at the fake (same path), so nothing leaves loopback."""
    real: dict[str, str] = _ccxt_binance_description()["urls"]["api"]
    return {name: fake_url.rstrip("/") + urlsplit(base).path for name, base in real.items()}


def ccxt_config(fake_url: str, *, timeout_ms: int = 10_000, **extra: Any) -> dict[str, Any]:
    """Config for ``ccxt.async_support.binance(...)`` so that it talks only to the fake, spot only.

    ``extra`` adds or overrides top-level keys; a dict (e.g. ``options={...}``) is merged one level deep.
    """
    spot_exact = _ccxt_binance_description()["exceptions"]["spot"]["exact"]
    config: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        "urls": {"api": ccxt_api_urls(fake_url)},
        "options": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "adjustForTimeDifference": False,
        },
        "exceptions": {"exact": dict(spot_exact)},
    }
    for key, value in extra.items():
        config[key] = (
            {**config[key], **value} if isinstance(config.get(key), dict) and isinstance(value, dict) else value
        )
    return config
