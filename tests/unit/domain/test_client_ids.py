"""Our client order ids in each exchange's form: within its length and alphabet, the same for the
same order always, and recognisable as ours when the exchange lists them."""

from __future__ import annotations

import re
import uuid

from hypothesis import given
from hypothesis import strategies as st

from r3edge_streams.domain.client_ids import is_ours, venue_client_id
from r3edge_streams.domain.money import client_order_id

BINANCE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")  # Binance's newClientOrderId
OKX = re.compile(r"^[A-Za-z0-9]{1,32}$")  # OKX's clOrdId
GATE = re.compile(r"^t-[A-Za-z0-9_.-]{1,26}$")  # Gate's text as ccxt takes it: 28 characters with the t-


@given(st.text(min_size=1, max_size=80))
def test_every_form_keeps_the_exchanges_rules_and_is_recognised(order_id: str) -> None:
    ours = client_order_id(order_id)
    assert BINANCE.match(venue_client_id("binance", ours)) and venue_client_id("binance", ours) == ours
    assert OKX.match(venue_client_id("okx", ours))
    assert GATE.match(venue_client_id("gate", ours))
    assert uuid.UUID(venue_client_id("coinbaseexchange", ours))
    for exchange in ("binance", "okx", "gate", "coinbaseexchange", "kraken"):
        assert is_ours(exchange, venue_client_id(exchange, ours))
        assert venue_client_id(exchange, ours) == venue_client_id(exchange, client_order_id(order_id))


def test_ids_of_other_origins_are_not_ours() -> None:
    assert not is_ours("binance", "web_8a7c0f") and not is_ours("binance", "x-R3ABC")
    assert not is_ours("gate", "t-manual") and not is_ours("coinbaseexchange", str(uuid.uuid4()).replace("f", "e"))
