"""The client-id table (``domain.client_ids``) against the installed ccxt: for each exchange it
names, and for the larger exchanges it leaves to the default, ccxt's own ``createOrder`` sends our
id in the exchange's form, and where the table says the exchange looks orders up by it, ccxt's
``fetchOrder`` asks for it. ccxt builds and signs each request; only its transport is replaced by
one that records the request (no exchange can be reached from here). A ccxt upgrade that stops
sending the id fails here, before an order placed twice could.

And the live venue refuses an exchange that can find an order neither by our id nor in its lists.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt.async_support as ccxt
import pytest

from r3edge_streams.accounts import Account, Secret
from r3edge_streams.domain.client_ids import RULES, Lookup, rule_of, venue_client_id
from r3edge_streams.domain.money import client_order_id
from r3edge_streams.exchanges.budget import RateBudget
from r3edge_streams.exchanges.ccxt_trading import CcxtVenue
from r3edge_streams.exchanges.errors import ExchangeError

SYMBOL = "BTC/USDT"
OURS = client_order_id("order-1")
#: default (scan) exchanges checked too: their createOrder must still carry our id
LARGER = ("kraken", "bybit", "kucoin", "bitget", "bingx")
CHECKED = sorted({*(name for name in RULES if name in ccxt.exchanges), *LARGER})
CREDENTIALS = {"apiKey": "key", "secret": "c2VjcmV0", "password": "pass", "uid": "uid"}
OPTIONS: dict[str, dict[str, Any]] = {"bitvavo": {"operatorId": 1}}


class Recorded(Exception):
    """Ends the call once the request we look for has been recorded."""


def spot_market() -> dict[str, Any]:
    return {"id": "BTCUSDT", "symbol": SYMBOL, "base": "BTC", "quote": "USDT", "baseId": "BTC", "quoteId": "USDT",
            "settle": None, "settleId": None, "type": "spot", "spot": True, "margin": False, "swap": False,
            "future": False, "option": False, "linear": None, "inverse": None, "contract": False, "active": True,
            "precision": {"amount": 0.0001, "price": 0.01}, "limits": {"amount": {}, "price": {}, "cost": {}},
            "info": {"orderTypes": ["LIMIT", "MARKET"], "permissions": ["SPOT"]}}  # fmt: skip


async def requests_of(name: str, call: str, cid: str) -> list[str]:
    """Every request ccxt's ``name`` builds for ``call`` up to the first that carries ``cid``
    (preliminary ones, such as an account-settings read, are answered with an empty object)."""
    exchange = getattr(ccxt, name)({**CREDENTIALS, "options": OPTIONS.get(name, {})})
    seen: list[str] = []

    async def record(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        seen.append(f"{method} {url} {body}")
        if cid in seen[-1] or len(seen) > 4:
            raise Recorded
        return {}

    exchange.fetch = record
    exchange.set_markets([spot_market()])
    exchange.accounts = [{"id": "1", "type": "spot", "code": None, "info": {"id": "1", "type": "spot"}}]  # HTX's
    try:
        if call == "create":
            await exchange.create_order(SYMBOL, "limit", "buy", 1, 100, {rule_of(name).param: cid})
        elif rule_of(name).lookup is Lookup.PARAM:
            await exchange.fetch_order("", SYMBOL, {"clientOrderId": cid})
        else:
            await exchange.fetch_order(cid, SYMBOL)
    except Recorded:
        pass
    finally:
        await exchange.close()
    return seen


@pytest.mark.parametrize("name", CHECKED)
def test_ccxt_places_an_order_under_our_id_in_the_exchanges_form(name: str) -> None:
    cid = venue_client_id(name, OURS)
    seen = asyncio.run(requests_of(name, "create", cid))
    assert any(cid in request for request in seen), f"{name}'s createOrder sent {seen}, without {cid}"


@pytest.mark.parametrize("name", [n for n in CHECKED if rule_of(n).lookup is not Lookup.SCAN])
def test_ccxt_looks_an_order_up_by_our_id_where_the_table_says_it_can(name: str) -> None:
    cid = venue_client_id(name, OURS)
    seen = asyncio.run(requests_of(name, "fetch", cid))
    assert any(cid in request for request in seen), f"{name}'s fetchOrder sent {seen}, without {cid}"


def test_an_exchange_that_cannot_find_an_order_again_is_refused_for_live_trading() -> None:
    blind = [n for n in ccxt.exchanges if n not in RULES and _cannot_scan(n)]
    assert blind, "some ccxt exchange lists no orders"
    account = Account("main", blind[0], Secret("key"), Secret("secret"))
    with pytest.raises(ExchangeError, match="cannot trade live"):
        CcxtVenue(blind[0], account, RateBudget(5))


def _cannot_scan(name: str) -> bool:
    exchange = getattr(ccxt, name)()
    has = exchange.has
    asyncio.run(exchange.close())
    return bool(has.get("createOrder")) and not (
        has.get("fetchOpenOrders") and (has.get("fetchClosedOrders") or has.get("fetchOrders"))
    )
