"""The live venue: the trading port over one exchange account, through ``ccxt.async_support``.

In: an exchange id, the account's credentials (:class:`~r3edge_streams.accounts.Account`,
revealed only to ccxt), an optional API host (a testnet, or the local test server), the
account's :class:`~.budget.RateBudget`, and sized ``Order`` records. Out: the plain values of
:mod:`r3edge_streams.domain.venue`, or the errors of :mod:`.errors`.

Every order is sent with its ``client_order_id`` in the exchange's form (its length and
alphabet: :mod:`r3edge_streams.domain.client_ids`) as ccxt's ``clientOrderId``, which ccxt
names as each exchange does (Binance's ``newClientOrderId``), or under the exchange's own name
where ccxt does not map it, and found again by it: by ccxt's ``fetchOrder`` where the exchange
looks up client ids, else among the account's open and recent orders, and by the exchange's own
id once an answer gave it. An exchange that answers a placement under another client id than
ours cannot be trusted to find one again: an unconfirmed placement there is never sent twice. A placement is
never retried blindly: when its answer does not come (a timeout, a dropped connection, a 5xx)
the order is looked up by its client order id, and only an exchange that does not have it
leaves it unplaced (``TransientExchangeError``: the executor's next round looks again, and
places it again only after ``unconfirmed_grace`` seconds of not finding it, since an exchange
may show an accepted order a moment late; the grace outlasts the request's ``recvWindow``, after
which the exchange refuses to execute a request held up on its way, so a late first copy can
never execute beside the second). A request the exchange refused for its age did nothing, so it is
transient and forgets the placement's doubt. An exchange's refusal (insufficient funds, a
filter, a closed market) is ``OrderRejected`` with the exchange's own words; a duplicate client order id is the order
already placed, which is fetched. Reads are retried with backoff on transient errors only.
Every request waits for the account's rate budget right before it leaves (behind ccxt's own
throttle, so nothing can gather behind the budget and leave in a burst), and a rate limit answer (429, 418)
stops the whole account's requests for the ``Retry-After`` the exchange gave.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, TypeVar

from ccxt.base import errors as ccxt_errors
from ccxt.base.decimal_to_precision import TICK_SIZE

from ..accounts import Account
from ..domain.client_ids import Lookup, rule_of, venue_client_id
from ..domain.venue import Balance, MarketRules, VenueFill, VenueOrder
from ..models import Order, OrderSide, OrderStatus, OrderType
from .budget import RateBudget
from .ccxt_client import build, fenced, translate
from .errors import (
    ExchangeError,
    OrderNotFound,
    OrderRejected,
    RateLimited,
    RequestExpired,
    TransientExchangeError,
    UnknownMarket,
)

log = logging.getLogger(__name__)
# ccxt logs every request at DEBUG with its headers, the API key among them: a worker run with
# ``-l debug`` must still never print a credential, so ccxt's own logger stops at INFO
logging.getLogger("ccxt").setLevel(logging.INFO)
T = TypeVar("T")
_STATUSES = {"closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED, "cancelled": OrderStatus.CANCELLED,
             "expired": OrderStatus.EXPIRED, "rejected": OrderStatus.REJECTED}  # fmt: skip
_REFUSALS = (ccxt_errors.InsufficientFunds, ccxt_errors.InvalidOrder, ccxt_errors.MarketClosed, ccxt_errors.BadRequest,
             ccxt_errors.BadSymbol, ccxt_errors.PermissionDenied, ccxt_errors.AccountSuspended)  # fmt: skip


#: reconciliation lists an account's open orders on every market: ccxt's Binance refuses that
#: (a heavier request) unless told it is meant
_LISTING_OPTIONS: dict[str, Any] = {
    "fetchOpenOrders": {"warnWithoutSymbol": False},
    "warnOnFetchOpenOrdersWithoutSymbol": False,
}


class CcxtVenue:
    """One account on one ccxt exchange."""

    def __init__(
        self,
        exchange_id: str,
        account: Account,
        budget: RateBudget,
        *,
        api_url: str | None = None,
        options: Mapping[str, Any] | None = None,
        timeout_ms: int = 10_000,
        attempts: int = 4,
        backoff_seconds: float = 0.5,
        unconfirmed_grace: float = 15.0,
        lookup: Lookup | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if account.api_key is None or account.secret is None:
            raise ExchangeError(f"account {account.name} has no API key and secret for {exchange_id}")
        credentials = {"apiKey": account.api_key.reveal(), "secret": account.secret.reveal()}
        if account.password is not None:
            credentials["password"] = account.password.reveal()
        self._ccxt = build(exchange_id, api_url=api_url, options={**_LISTING_OPTIONS, **(options or {})},
                           timeout_ms=timeout_ms, credentials=credentials)  # fmt: skip
        self._ccxt.throttle = self._paced(self._ccxt.throttle)
        self._id = exchange_id
        self._account = account.name
        self._secrets = [s for s in (account.api_key, account.secret, account.password) if s is not None]
        self._budget = budget
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._markets_loaded = False
        self._grace = unconfirmed_grace
        self._clock = clock
        self._unconfirmed: dict[str, float] = {}  # client id -> when its placement went unanswered
        self._rule = rule_of(exchange_id)
        self._lookup = lookup or self._rule.lookup
        self._ids_kept = True  # until a placement's answer shows another client id than ours
        self._venue_ids: dict[str, str] = {}  # client id -> the exchange's id, from the placement's answer
        if self._lookup is Lookup.SCAN and not self._can_scan():
            raise ExchangeError(
                f"{exchange_id} can find an order again neither by its client order id nor in its order lists: "
                "an answer lost after placing could make a second order, so it cannot trade live"
            )

    @property
    def venue_id(self) -> str:
        return self._id

    async def market_rules(self, symbol: str) -> MarketRules:
        market = await self._market(symbol)
        precision, limits = market.get("precision") or {}, market.get("limits") or {}
        step = self._step(precision.get("amount"))
        return MarketRules(
            symbol=symbol,
            base=str(market["base"]),
            quote=str(market["quote"]),
            lot_step=step,
            min_quantity=_number((limits.get("amount") or {}).get("min")) or step,
            price_tick=self._step(precision.get("price")),
            min_notional=_number((limits.get("cost") or {}).get("min")) or Decimal(0),
            max_quantity=_number((limits.get("amount") or {}).get("max")),
        )

    async def load_markets(self) -> None:
        """Read the exchange's markets now (once): sizing then finds their rules without waiting."""
        await self._market_list()

    async def place(self, order: Order) -> VenueOrder:
        """Place ``order`` unless the exchange has it already (found by its client order id: an
        exchange such as Binance refuses a repeated id only while the first order is open)."""
        await self._market(order.symbol)
        before = await self.fetch_order(order.symbol, order.client_order_id)
        if before is not None:
            self._unconfirmed.pop(order.client_order_id, None)
            return before
        since = self._unconfirmed.get(order.client_order_id)
        if since is not None and not self._ids_kept:
            raise TransientExchangeError(
                f"{self._id} order {order.client_order_id}: unconfirmed, and {self._id} does not keep our client ids, "
                "so it is never placed again: look at the account on the exchange"
            )
        if since is not None and self._clock() - since < self._grace:
            # an exchange may show an order it accepted a moment later: place again only once the
            # grace is over (Binance takes a repeated id once the first order is no longer open)
            raise TransientExchangeError(f"{self._id} order {order.client_order_id}: unconfirmed, still looking")
        raw = await self._send(order)
        if raw is not None:
            self._remember(order.client_order_id, raw)
        found = await self.fetch_order(order.symbol, order.client_order_id)
        if found is not None:
            self._unconfirmed.pop(order.client_order_id, None)
            return found
        if raw is not None:  # accepted, but its lookups lag: the answer is the order (fills come later)
            self._unconfirmed.pop(order.client_order_id, None)
            return _venue_order(raw, order.symbol, order.client_order_id, ())
        raise TransientExchangeError(
            f"{self._id} did not confirm order {order.client_order_id} and does not have it: looked up again"
        )

    async def _send(self, order: Order) -> dict[str, Any] | None:
        """The placement request itself: the exchange's answer, or None when it has an open order
        under the id already (ours, placed before) or its answer never came (looked up next)."""
        price = float(order.limit_price) if order.order_type is OrderType.LIMIT and order.limit_price else None
        # unconfirmed from the moment it is sent: an answer lost, or a call cancelled by the
        # executor's timeout while the request was out, leaves the grace in force
        self._unconfirmed[order.client_order_id] = self._clock()
        try:
            return await self._once(self._ccxt.create_order, order.symbol, order.order_type.value, order.side.value,
                                    float(order.quantity), price, {self._rule.param: self._cid(order.client_order_id)},
                                    placing=True)  # fmt: skip
        except RequestExpired:
            self._unconfirmed.pop(order.client_order_id, None)  # refused unexecuted: nothing was placed
            raise
        except OrderRejected as refused:
            if "duplicate" not in str(refused).lower():
                self._unconfirmed.pop(order.client_order_id, None)  # refused: nothing was placed
                raise
            return None  # the exchange has an open order under this id: ours, placed before
        except TransientExchangeError as unsure:
            log.warning("%s order %s unconfirmed (%s): looking it up", self._id, order.client_order_id, unsure)
            return None

    async def fetch_order(
        self, symbol: str, client_order_id: str, venue_order_id: str | None = None
    ) -> VenueOrder | None:
        """The order by the exchange's id when known (the placement's answer gave it), else by our
        client id as the exchange finds it (:class:`~r3edge_streams.domain.client_ids.Lookup`)."""
        known = venue_order_id or self._venue_ids.get(client_order_id)
        cid = self._cid(client_order_id)
        try:
            if known is not None:
                raw = await self._read(self._ccxt.fetch_order, known, symbol)
            elif self._lookup is Lookup.PARAM:
                raw = await self._read(self._ccxt.fetch_order, "", symbol, {"clientOrderId": cid})
            elif self._lookup is Lookup.ID:
                raw = await self._read(self._ccxt.fetch_order, cid, symbol)
            else:
                scanned = await self._scan(symbol, cid)
                if scanned is None:
                    return None
                raw = scanned
        except OrderNotFound:
            return None
        return await self._with_fills(raw, symbol, client_order_id)

    async def cancel(self, symbol: str, client_order_id: str, venue_order_id: str | None = None) -> VenueOrder:
        """Cancel by the exchange's id when known or found, else by our client id; the answer is
        the order's final state as the exchange then shows it."""
        known = venue_order_id or self._venue_ids.get(client_order_id)
        if known is None and self._lookup is Lookup.SCAN:
            listed = await self.fetch_order(symbol, client_order_id)
            known = listed.venue_order_id if listed is not None else None
            if known is None:
                raise OrderNotFound(f"{self._id} has no order {client_order_id}")
        try:
            if known is not None:
                await self._read(self._ccxt.cancel_order, known, symbol)
            elif self._lookup is Lookup.ID:
                await self._read(self._ccxt.cancel_order, self._cid(client_order_id), symbol)
            else:
                await self._read(self._ccxt.cancel_order, "", symbol, {"clientOrderId": self._cid(client_order_id)})
        except OrderNotFound:
            pass  # gone already (filled, cancelled): what it became is read below
        found = await self.fetch_order(symbol, client_order_id, known)
        if found is None:
            raise OrderNotFound(f"{self._id} has no order {client_order_id}")
        return found

    async def open_orders(self, symbol: str | None = None) -> Sequence[VenueOrder]:
        """The account's open orders, without their fills (``fetch_order`` gives those), each
        under the client id as the exchange lists it (:mod:`r3edge_streams.domain.client_ids`)."""
        if symbol is not None:
            await self._market(symbol)
        rows = await self._read(self._ccxt.fetch_open_orders, symbol)
        return [_venue_order(raw, str(raw.get("symbol")), str(raw.get("clientOrderId") or ""), ()) for raw in rows]

    async def balances(self) -> Mapping[str, Balance]:
        raw = await self._read(self._ccxt.fetch_balance)
        free, used = raw.get("free") or {}, raw.get("used") or {}
        assets = sorted(set(free) | set(used))
        return {a: Balance(a, _number(free.get(a)) or Decimal(0), _number(used.get(a)) or Decimal(0)) for a in assets}

    async def close(self) -> None:
        await self._ccxt.close()

    # -- internals

    def _cid(self, client_order_id: str) -> str:
        return venue_client_id(self._id, client_order_id)

    def _remember(self, client_order_id: str, raw: dict[str, Any]) -> None:
        """The exchange's id of a placed order; and whether the exchange kept our client id."""
        if raw.get("id") is not None:
            self._venue_ids[client_order_id] = str(raw["id"])
        kept = raw.get("clientOrderId")
        if kept is not None and kept != self._cid(client_order_id) and self._ids_kept:
            self._ids_kept = False
            log.error("%s answered order %s under client id %r, not ours: an unconfirmed placement on it will "
                      "not be sent again", self._id, client_order_id, kept)  # fmt: skip

    def _paced(self, throttle: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[None]]:
        """ccxt's own throttle (its per-endpoint weights), then the account's budget, right before
        each request leaves: the last pacer decides the spacing on the wire (the budget before
        ccxt's throttle let a weighty call's wait gather requests that then left in a burst)."""

        async def paced(cost: Any = None) -> None:
            await throttle(cost)
            await self._budget.acquire()

        return paced

    def _can_scan(self) -> bool:
        has = self._ccxt.has
        return bool(has.get("fetchOpenOrders") and (has.get("fetchClosedOrders") or has.get("fetchOrders")))

    async def _scan(self, symbol: str, cid: str) -> dict[str, Any] | None:
        """The order under ``cid`` among the account's open orders of ``symbol``, then its recent
        ones (the exchange's default page: an order looked up this way is one whose placement
        answer never came, so a recent one; an older order is found by the exchange's id)."""
        recent = self._ccxt.fetch_closed_orders if self._ccxt.has.get("fetchClosedOrders") else self._ccxt.fetch_orders
        for listing in (self._ccxt.fetch_open_orders, recent):
            for raw in await self._read(listing, symbol):
                if raw.get("clientOrderId") == cid:
                    return dict(raw)
        return None

    async def _market_list(self) -> None:
        if not self._markets_loaded:
            await self._read(self._ccxt.load_markets)
            self._markets_loaded = True

    async def _market(self, symbol: str) -> dict[str, Any]:
        await self._market_list()
        market = self._ccxt.markets.get(symbol)
        if market is None:
            raise UnknownMarket(f"{self._id} does not list {symbol}")
        return dict(market)

    def _step(self, precision: Any) -> Decimal:
        """A market's step from ccxt's precision: the step itself, or a count of decimals."""
        value = _number(precision)
        if value is None:
            return Decimal("0.00000001")
        return value if self._ccxt.precisionMode == TICK_SIZE else Decimal(1).scaleb(-int(value))

    async def _with_fills(self, raw: dict[str, Any], symbol: str, client_order_id: str) -> VenueOrder:
        filled = _number(raw.get("filled")) or Decimal(0)
        trades: Sequence[VenueFill] = ()
        if filled > 0:
            if self._ccxt.has.get("fetchOrderTrades"):
                rows = await self._read(self._ccxt.fetch_order_trades, str(raw.get("id")), symbol)
            else:  # the account's trades since the order, of this order
                rows = await self._read(self._ccxt.fetch_my_trades, symbol, raw.get("timestamp"))
            trades = [_fill(row) for row in rows if str(row.get("order")) == str(raw.get("id"))]
        return _venue_order(raw, symbol, client_order_id, tuple(trades))

    async def _once(self, function: Callable[..., Awaitable[T]], *args: Any, placing: bool = False) -> T:
        """One call (its requests paced by the account's budget, :meth:`_paced`); ccxt's errors translated (a bad
        request is the order's refusal only when ``placing`` it: a lookup refused is no verdict)."""
        try:
            return await fenced(function(*args))
        except Exception as exc:  # noqa: BLE001 - every ccxt error is translated here
            raise self._translated(exc, placing) from exc

    async def _read(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """A request that changes nothing twice: retried with backoff while the error is transient."""
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._once(function, *args)
            except TransientExchangeError as error:
                if attempt == self._attempts:
                    raise
                pause = min(self._backoff * 2 ** (attempt - 1), 30.0)
                log.warning("%s: %s (attempt %d/%d), again in %.1fs", self._id, error, attempt, self._attempts, pause)
                await self._sleep(pause)
        raise AssertionError("unreachable")

    def _translated(self, exc: Exception, placing: bool) -> ExchangeError:
        """The project's error for a ccxt one, its text scrubbed of the account's credentials (an
        exchange that takes its key in the URL would have it in ccxt's message)."""
        text = self._scrubbed(str(exc))
        if isinstance(exc, ccxt_errors.OrderNotFound):
            return OrderNotFound(text[:300])
        if _expired(exc):
            return RequestExpired(text[:300])
        if placing and isinstance(exc, _REFUSALS):
            return OrderRejected(self._scrubbed(_reason(exc)))
        error = translate(exc)
        if isinstance(error, RateLimited):
            pause = _retry_after(self._ccxt.last_response_headers)
            self._budget.pause(pause)
            log.warning("%s account %s: rate limited, no request for %.0f s", self._id, self._account, pause)
            return RateLimited(self._scrubbed(str(error)), pause)
        return type(error)(self._scrubbed(str(error)))

    def _scrubbed(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret.reveal(), "***")
        return text


def _venue_order(raw: dict[str, Any], symbol: str, client_order_id: str, fills: tuple[VenueFill, ...]) -> VenueOrder:
    filled = _number(raw.get("filled")) or Decimal(0)
    status = _STATUSES.get(str(raw.get("status")))
    if status is None:  # open
        status = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    stamp = raw.get("timestamp")
    return VenueOrder(
        client_order_id=client_order_id or str(raw.get("clientOrderId")),
        symbol=symbol,
        side=OrderSide(str(raw.get("side"))),
        order_type=OrderType.LIMIT if raw.get("type") == "limit" else OrderType.MARKET,
        quantity=_number(raw.get("amount")) or Decimal(0),
        status=status,
        created_at=_moment(stamp),
        limit_price=_number(raw.get("price")) if raw.get("type") == "limit" else None,
        venue_order_id=str(raw.get("id")) if raw.get("id") is not None else None,
        fills=fills,
    )


def _fill(row: dict[str, Any]) -> VenueFill:
    fee = row.get("fee") or {}
    return VenueFill(
        trade_id=str(row.get("id")),
        quantity=_number(row.get("amount")) or Decimal(0),
        price=_number(row.get("price")) or Decimal(0),
        fee=_number(fee.get("cost")) or Decimal(0),
        fee_currency=str(fee.get("currency") or ""),
        at=_moment(row.get("timestamp")),
    )


def _moment(stamp: Any) -> datetime:
    if not isinstance(stamp, (int, float)):
        raise ExchangeError(f"exchange answered without a time: {stamp!r}")
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc)


def _number(value: Any) -> Decimal | None:
    """ccxt's float as the exchange's decimal (its shortest repr), or None."""
    if value is None or isinstance(value, bool):
        return None
    number = Decimal(str(value))
    return number if number.is_finite() else None


#: the exchanges' own codes for "taken too late after it was signed: not executed" where ccxt
#: maps them to a plain bad request (Binance spot's -1021)
_EXPIRED_CODES = ('"code":-1021',)


def _expired(exc: Exception) -> bool:
    """Whether the exchange refused the request for its age (so it did nothing with it)."""
    return isinstance(exc, ccxt_errors.InvalidNonce) or any(code in str(exc) for code in _EXPIRED_CODES)


def _reason(exc: Exception) -> str:
    """The exchange's own words for a refusal (ccxt prefixes the exchange id and may add JSON)."""
    text = str(exc)
    start = text.find('"msg":"')
    if start >= 0:
        return text[start + 7 : text.find('"', start + 7)] or text[:300]
    return text[:300]


def _retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds the exchange asked us to wait (its ``Retry-After``), or a minute when it did not say."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return max(1.0, float(value))
            except (TypeError, ValueError):
                break
    return 60.0
