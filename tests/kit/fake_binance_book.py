"""The fake Binance's account side: signed requests, balances, an order book and its matching.

In: the parameters of Binance spot's signed endpoints (``/api/v3/order``, ``openOrders``,
``account``, ``myTrades``), the markets' 1m candles and the fake's clock ``now_ms``. Out: the
JSON Binance answers with (shapes as documented at
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints), or a
``BinanceError`` with Binance's code and message. The fake's own record of every order it
accepted and every trade it made (``Book.orders``, ``Book.trades``) is what the tests judge
the engine by.

Matching (deterministic, from the candles and the clock only):

* A MARKET order fills at the current price, the close of the last 1m candle opened by
  ``now_ms``. A LIMIT order fills at its price when a candle opened after it crosses it (a buy
  when the low reaches the price, a sell when the high does), or at once, at the current price,
  when it is marketable on arrival.
* ``Book.slices`` (default 1) splits an order's quantity into that many fills (multiples of the
  lot step, the last one takes the rest): a MARKET order takes them all on arrival, at the
  current price (as if it walked the book); a LIMIT order one on arrival if marketable, then
  one on each later candle that crosses its price, at its price.
* ``Book.market_slices_per_candle`` makes a MARKET order take its first slice on arrival and
  then one on each later candle, at that candle's open (a thin book refilled each minute): fills
  that come while nobody watches.
* ``Book.ignores_client_ids`` makes it keep ids of its own (``fake<n>``) in place of ``newClientOrderId``,
  as an exchange that does not take client ids would.
* Commission is ``Book.fee_rate`` of each fill, in the asset received (base for a buy, quote for
  a sell), as Binance charges without BNB.
* Balances: a buy locks its quote at the limit (or current) price, a sell its base; each fill
  moves the locked amount; cancelling releases the rest. An order that the free balance does
  not cover is refused with Binance's -2010 ``Account has insufficient balance...``.

Signature: ``signature`` must be the hex HMAC-SHA256, with the account's secret, of the query
string (GET, DELETE) or form body (POST) before it; ``X-MBX-APIKEY`` names the account. The
``timestamp`` must be a whole number, but it is not compared with the fake's clock: that clock
replays the candles' past while ccxt stamps wall-clock time.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

Json = Any
Params = dict[str, str]
CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
DECIMAL_RE = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
ZERO = Decimal(0)
Bar = tuple[int, Decimal, Decimal, Decimal, Decimal]  # (open ms, open, high, low, close)


class BookError(Exception):
    """Binance's error answer for a trading request: ``{"code": code, "msg": msg}``."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status


@dataclass(frozen=True)
class MarketView:
    """What the book needs of one market: its assets, rules and the candles visible now."""

    id: str
    base: str
    quote: str
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    min_notional: Decimal
    candles: Sequence[Bar]  # the 1m candles opened by now, oldest first
    open_times: Sequence[int]

    def price_now(self) -> Decimal:
        if not self.candles:
            raise BookError(-1013, "Filter failure: NOTIONAL")  # no price to trade at
        return self.candles[-1][4]

    def last_open(self) -> int:
        return self.open_times[-1] if self.open_times else -1

    def since(self, open_ms: int) -> Sequence[Bar]:
        """The candles opened after ``open_ms``."""
        return self.candles[bisect.bisect_right(self.open_times, open_ms) :]


@dataclass
class Trade:
    """One fill of one order, as ``myTrades`` lists it."""

    id: int
    order_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool

    def json(self) -> Json:
        return {"symbol": self.symbol, "id": self.id, "orderId": self.order_id, "orderListId": -1,
                "price": _num(self.price), "qty": _num(self.qty), "quoteQty": _num(self.price * self.qty),
                "commission": _num(self.commission), "commissionAsset": self.commission_asset,
                "time": self.time, "isBuyer": self.is_buyer, "isMaker": self.is_maker,
                "isBestMatch": True}  # fmt: skip


@dataclass
class Order:
    """One order the fake accepted, with its fills."""

    order_id: int
    api_key: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    quantity: Decimal
    price: Decimal | None
    time_in_force: str | None
    time: int
    status: str = "NEW"
    update_time: int = 0
    locked: Decimal = ZERO  # of the asset spent (quote for a buy, base for a sell)
    trades: list[Trade] = field(default_factory=list)
    last_candle: int = -1  # open time of the last candle matched against

    @property
    def executed(self) -> Decimal:
        return sum((t.qty for t in self.trades), ZERO)

    @property
    def quote_executed(self) -> Decimal:
        return sum((t.qty * t.price for t in self.trades), ZERO)

    @property
    def final(self) -> bool:
        return self.status in ("FILLED", "CANCELED", "EXPIRED", "REJECTED")

    def json(self) -> Json:
        return {"symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
                "clientOrderId": self.client_order_id, "price": _num(self.price or ZERO),
                "origQty": _num(self.quantity), "executedQty": _num(self.executed),
                "cummulativeQuoteQty": _num(self.quote_executed), "status": self.status,
                "timeInForce": self.time_in_force or "GTC", "type": self.type, "side": self.side,
                "stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": self.time,
                "updateTime": self.update_time or self.time, "isWorking": True, "workingTime": self.time,
                "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "NONE"}  # fmt: skip

    def placed_json(self, kind: str) -> Json:
        """The answer to the placement: ACK, RESULT or FULL (with the fills made on arrival)."""
        if kind == "ACK":
            return {"symbol": self.symbol, "orderId": self.order_id, "orderListId": -1,
                    "clientOrderId": self.client_order_id, "transactTime": self.time}  # fmt: skip
        body = {key: value for key, value in self.json().items() if key not in ("time", "updateTime", "isWorking")}
        body["transactTime"] = self.time
        if kind == "FULL":
            body["fills"] = [{"price": _num(t.price), "qty": _num(t.qty), "commission": _num(t.commission),
                              "commissionAsset": t.commission_asset, "tradeId": t.id} for t in self.trades]  # fmt: skip
        return body


@dataclass
class Account:
    secret: str
    free: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)

    def move(self, asset: str, free: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        self.free[asset] = self.free.get(asset, ZERO) + free
        self.locked[asset] = self.locked.get(asset, ZERO) + locked


@dataclass
class Book:
    """Every account, order and trade of the fake exchange (it survives a restart of the server)."""

    accounts: dict[str, Account] = field(default_factory=dict)
    orders: list[Order] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)
    slices: int = 1
    ignores_client_ids: bool = False  # like an exchange that keeps its own ids: ours is dropped
    market_slices_per_candle: bool = False  # a MARKET order's slices after the first come one per candle
    fee_rate: Decimal = Decimal("0.001")
    _next_order: int = 1000
    _next_trade: int = 5000

    # -- set-up

    def open_account(self, api_key: str, secret: str, balances: dict[str, Decimal | str]) -> Account:
        account = Account(secret, {asset: Decimal(amount) for asset, amount in balances.items()})
        self.accounts[api_key] = account
        return account

    # -- signature

    def authenticate(self, api_key: str | None, signed_text: str, params: Params) -> str:
        """The account's key, after the request's signature is checked (Binance's errors if not)."""
        account = self.accounts.get(api_key or "")
        if account is None:
            raise BookError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if not re.fullmatch(r"[0-9]{1,20}", params.get("timestamp", "")):
            raise BookError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        unsigned, _, signature = signed_text.rpartition("&signature=")
        expected = hmac.new(account.secret.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(signature, expected):
            raise BookError(-1022, "Signature for this request is not valid.")
        assert api_key is not None
        return api_key

    # -- requests

    def place(self, api_key: str, params: Params, market: MarketView, now_ms: int) -> Order:
        side, kind = _choice(params, "side", ("BUY", "SELL"), -1117, "Invalid side."), _order_type(params)
        quantity = _decimal(params, "quantity")
        price = _decimal(params, "price") if kind == "LIMIT" else None
        tif = _choice(params, "timeInForce", ("GTC", "IOC", "FOK"), -1115, "Invalid timeInForce.") if price else None
        client_id = params.get("newClientOrderId") or f"fake{self._next_order}"
        if self.ignores_client_ids:
            client_id = f"fake{self._next_order}"
        if not CLIENT_ID_RE.match(client_id):
            raise BookError(-1100, "Illegal characters found in parameter 'newClientOrderId'; "
                                   f"legal range is '{CLIENT_ID_RE.pattern}'.")  # fmt: skip
        if any(o.client_order_id == client_id and o.api_key == api_key and not o.final for o in self.orders):
            raise BookError(-2010, "Duplicate order sent.")
        _check_filters(market, quantity, price)
        account = self.accounts[api_key]
        spend_asset, spend = (market.quote, quantity * (price or market.price_now())) if side == "BUY" else (
            market.base, quantity)  # fmt: skip
        if account.free.get(spend_asset, ZERO) < spend:
            raise BookError(-2010, "Account has insufficient balance for requested action.")
        account.move(spend_asset, free=-spend, locked=spend)
        order = Order(self._next_order, api_key, client_id, market.id, side, kind, quantity, price, tif, now_ms,
                      update_time=now_ms, locked=spend, last_candle=market.last_open())  # fmt: skip
        self._next_order += 1
        self.orders.append(order)
        self._arrive(order, market, now_ms)
        return order

    def find(self, api_key: str, params: Params, missing: tuple[int, str]) -> Order:
        market_id = params.get("symbol", "")
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if not order_id and not client_id:
            raise BookError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        for order in reversed(self.orders):  # the newest order of a client id reused after its end
            if (
                order.api_key == api_key
                and order.symbol == market_id
                and (str(order.order_id) == order_id if order_id else order.client_order_id == client_id)
            ):
                return order
        raise BookError(*missing)

    def cancel(self, order: Order, market: MarketView, now_ms: int) -> Order:
        if order.final:
            raise BookError(-2011, "Unknown order sent.")
        order.status = "CANCELED"
        order.update_time = now_ms
        self._release(order, market)
        return order

    def open_orders(self, api_key: str, market_id: str | None) -> list[Order]:
        return [o for o in self.orders if o.api_key == api_key and not o.final and market_id in (None, o.symbol)]

    def all_orders(self, api_key: str, market_id: str, params: Params) -> list[Order]:
        """Binance's allOrders: the account's orders of the market, from ``orderId`` on, else the
        most recent ``limit`` (500, at most 1,000), oldest first."""
        rows = [o for o in self.orders if o.api_key == api_key and o.symbol == market_id]
        if params.get("startTime"):
            rows = [o for o in rows if o.time >= int(params["startTime"])]
        if params.get("endTime"):
            rows = [o for o in rows if o.time <= int(params["endTime"])]
        limit = min(int(params.get("limit") or 500), 1000)
        if params.get("orderId"):
            return [o for o in rows if o.order_id >= int(params["orderId"])][:limit]
        return rows[-limit:]

    def my_trades(self, api_key: str, market_id: str, params: Params) -> list[Trade]:
        mine = {o.order_id for o in self.orders if o.api_key == api_key and o.symbol == market_id}
        order_id = params.get("orderId")
        rows = [t for t in self.trades if t.order_id in mine and (not order_id or str(t.order_id) == order_id)]
        if params.get("fromId"):
            rows = [t for t in rows if t.id >= int(params["fromId"])]
        if params.get("startTime"):
            rows = [t for t in rows if t.time >= int(params["startTime"])]
        if params.get("endTime"):
            rows = [t for t in rows if t.time <= int(params["endTime"])]
        limit = min(int(params.get("limit") or 500), 1000)
        return rows[:limit]

    def balances(self, api_key: str) -> list[Json]:
        account = self.accounts[api_key]
        assets = sorted(set(account.free) | set(account.locked))
        return [{"asset": a, "free": _num(account.free.get(a, ZERO)), "locked": _num(account.locked.get(a, ZERO))}
                for a in assets]  # fmt: skip

    # -- matching

    def match(self, markets: dict[str, MarketView], now_ms: int) -> None:
        """Fill what the candles opened since each open order's last look allow."""
        for order in self.orders:
            market = markets.get(order.symbol)
            if order.final or market is None:
                continue
            for candle in market.since(order.last_candle):
                order.last_candle = candle[0]
                self._on_candle(order, candle, now_ms, market)
                if order.final:
                    break

    def _arrive(self, order: Order, market: MarketView, now_ms: int) -> None:
        current = market.price_now()
        if order.type == "MARKET" and self.market_slices_per_candle:
            self._fill(order, market, current, now_ms, maker=False)  # the rest on the next candles
        elif order.type == "MARKET":  # fills at once, in ``slices`` trades at the current price
            while not order.final:
                self._fill(order, market, current, now_ms, maker=False)
        elif order.price is not None and (current <= order.price if order.side == "BUY" else current >= order.price):
            self._fill(order, market, current, now_ms, maker=False)
        elif order.time_in_force in ("IOC", "FOK"):
            order.status = "EXPIRED"
            self._release(order, market)

    def _on_candle(self, order: Order, candle: Bar, now_ms: int, market: MarketView) -> None:
        """A resting LIMIT order takes one slice on each candle that crosses its price; a MARKET order
        still open (``market_slices_per_candle``) one at each candle's open."""
        _, open_, high, low, _ = candle
        if order.type == "MARKET":
            self._fill(order, market, open_, now_ms, maker=False)
        elif order.price is not None and (low <= order.price if order.side == "BUY" else high >= order.price):
            self._fill(order, market, order.price, now_ms, maker=True)

    def _fill(self, order: Order, market: MarketView, price: Decimal, now_ms: int, maker: bool) -> None:
        step = market.step_size
        slice_qty = (order.quantity / self.slices / step).to_integral_value(ROUND_DOWN) * step or order.quantity
        remaining = order.quantity - order.executed
        qty = remaining if len(order.trades) + 1 >= self.slices else min(slice_qty, remaining)
        buyer = order.side == "BUY"
        received_asset = market.base if buyer else market.quote
        received = qty if buyer else qty * price
        commission = received * self.fee_rate
        trade = Trade(self._next_trade, order.order_id, order.symbol, price, qty, commission, received_asset, now_ms,
                      buyer, maker)  # fmt: skip
        self._next_trade += 1
        order.trades.append(trade)
        self.trades.append(trade)
        account = self.accounts[order.api_key]
        spent = qty * (order.price or price) if buyer else qty
        paid = qty * price if buyer else qty
        account.move(market.quote if buyer else market.base, free=spent - paid, locked=-spent)
        account.move(received_asset, free=received - commission)
        order.locked -= spent
        order.update_time = now_ms
        order.status = "FILLED" if order.executed >= order.quantity else "PARTIALLY_FILLED"
        if order.status == "FILLED":
            self._release(order, market)

    def _release(self, order: Order, market: MarketView) -> None:
        if order.locked:
            self.accounts[order.api_key].move(market.quote if order.side == "BUY" else market.base,
                                              free=order.locked, locked=-order.locked)  # fmt: skip
            order.locked = ZERO


def _order_type(params: Params) -> str:
    return _choice(params, "type", ("MARKET", "LIMIT"), -1116, "Invalid orderType.")


def _choice(params: Params, name: str, allowed: Iterable[str], code: int, msg: str) -> str:
    value = params.get(name, "")
    if not value:
        raise BookError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    if value not in allowed:
        raise BookError(code, msg)
    return value


def _decimal(params: Params, name: str) -> Decimal:
    value = params.get(name, "")
    if not value:
        raise BookError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    if not DECIMAL_RE.match(value):
        raise BookError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^([0-9]{{1,20}})(\\.[0-9]{{1,20}})?$'.",
        )  # noqa: E501
    return Decimal(value)


def _check_filters(market: MarketView, quantity: Decimal, price: Decimal | None) -> None:
    if quantity < market.min_qty or quantity > market.max_qty or quantity % market.step_size:
        raise BookError(-1013, "Filter failure: LOT_SIZE")
    if price is not None and (price < market.min_price or price > market.max_price or price % market.tick_size):
        raise BookError(-1013, "Filter failure: PRICE_FILTER")
    if quantity * (price or market.price_now()) < market.min_notional:
        raise BookError(-1013, "Filter failure: NOTIONAL")


def _num(value: Decimal) -> str:
    """Binance's number strings: fixed point with 8 decimals (more when the value has them)."""
    padded = value.quantize(Decimal("0.00000001"))
    return format(padded if padded == value else value.normalize(), "f")
