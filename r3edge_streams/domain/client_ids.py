"""Client order ids as each exchange takes them (pure): our id, in the exchange's own form.

In: an exchange id and our client order id (``r3`` + 30 hex digits, derived from the order id:
:func:`r3edge_streams.domain.money.client_order_id`). Out: the id sent to that exchange and
looked up there, within its length and alphabet (most take ours as it is; Gate wants ``t-``
and at most 28 characters with it, as ccxt counts; Coinbase takes only UUIDs), and whether an id an exchange
lists is one of ours. The form is a function of our id alone, so an order is always found
again under the id it was placed with.

And the name ccxt's ``createOrder`` takes it under (``clientOrderId``, or the exchange's own
name where ccxt does not map ours: Coinbase's ``client_order_id``, Crypto.com's ``client_oid``),
and how each exchange finds an order again by that id (:class:`Lookup`): most through ccxt's
``fetchOrder`` with a ``clientOrderId`` parameter (each one checked against the request ccxt
builds: Binance's ``origClientOrderId``, OKX's ``clOrdId``, ...), Gate with our id in the
place of its own, and every other ccxt exchange by scanning the account's open and recent
orders of the market for it (ccxt's parameter is not known to reach those exchanges).
"""

from __future__ import annotations

import uuid
from enum import Enum

from .money import CLIENT_ID_PREFIX
from .values import value

UUID_MARK = "f0f0"  # the first hex digits of our ids on exchanges that take only UUIDs


class Lookup(Enum):
    """How an exchange finds an order again by our id."""

    PARAM = "param"  # fetchOrder("", symbol, {"clientOrderId": id})
    ID = "id"  # fetchOrder(id, symbol): the exchange takes our id in the place of its own
    SCAN = "scan"  # the account's open orders, then its recent ones, of the market


@value
class ClientIdRule:
    max_length: int = 36
    prefix: str = ""  # what the exchange requires in front (Gate: "t-")
    uuid: bool = False  # the exchange takes only UUIDs
    lookup: Lookup = Lookup.SCAN
    param: str = "clientOrderId"  # the createOrder parameter ccxt sends it under


_PARAM = ClientIdRule(lookup=Lookup.PARAM)
_DEFAULT = ClientIdRule()
RULES: dict[str, ClientIdRule] = {
    # each checked against the request ccxt builds for fetchOrder("", symbol, {"clientOrderId": ...})
    **{
        name: _PARAM for name in ("binance", "binanceus", "mexc", "htx", "phemex", "woo", "bitvavo", "bitstamp")
    },  # fmt: skip
    "gate": ClientIdRule(max_length=26, prefix="t-", lookup=Lookup.ID),  # ccxt: at most 28 with the t-
    "okx": ClientIdRule(max_length=32, lookup=Lookup.PARAM),
    "coinbase": ClientIdRule(uuid=True, param="client_order_id"),  # ccxt would send its own id
    "coinbaseexchange": ClientIdRule(uuid=True),
    "cryptocom": ClientIdRule(param="client_oid"),  # ccxt would send none
}


def venue_client_id(exchange_id: str, client_order_id: str) -> str:
    """Our ``client_order_id`` as ``exchange_id`` takes it."""
    rule = RULES.get(exchange_id, _DEFAULT)
    if rule.uuid:
        digits = client_order_id[len(CLIENT_ID_PREFIX) :]
        return str(uuid.UUID(hex=(UUID_MARK + digits)[:32].ljust(32, "0")))
    return rule.prefix + client_order_id[: rule.max_length]


def rule_of(exchange_id: str) -> ClientIdRule:
    """How ``exchange_id`` takes our ids and finds its orders by them."""
    return RULES.get(exchange_id, _DEFAULT)


def is_ours(exchange_id: str, venue_id: str) -> bool:
    """Whether an id ``exchange_id`` lists has the form of ours (it may still be unknown to us)."""
    rule = RULES.get(exchange_id, _DEFAULT)
    if rule.uuid:
        return venue_id.replace("-", "").lower().startswith(UUID_MARK)
    return venue_id.startswith(rule.prefix + CLIENT_ID_PREFIX)
