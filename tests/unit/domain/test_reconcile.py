"""An account's reconciliation: unknown orders are the exchange's open orders under our prefix that
no open order of the ledger is; a read that fails halts the account once, a good read resumes it."""

from __future__ import annotations

from decimal import Decimal

from r3edge_streams.domain.client_ids import venue_client_id
from r3edge_streams.domain.money import client_order_id
from r3edge_streams.domain.reconcile import halt_change, unknown_orders
from r3edge_streams.domain.venue import VenueOrder
from r3edge_streams.models import AccountAction, AccountExposure, OrderSide, OrderStatus, OrderType
from tests.kit.factories import T0


def listed(client_id: str) -> VenueOrder:
    return VenueOrder(client_order_id=client_id, symbol="UNITTEST/BTC", side=OrderSide.BUY,
                      order_type=OrderType.LIMIT, quantity=Decimal(5), status=OrderStatus.ACCEPTED,
                      created_at=T0, limit_price=Decimal("0.001"), venue_order_id="77")  # fmt: skip


def test_unknown_orders_are_ours_by_prefix_and_in_no_open_order_of_the_ledger() -> None:
    ledger = AccountExposure(account="main", open_orders=["s1:o1", "s2:o4"])
    ours, stray, manual = listed(client_order_id("s1:o1")), listed(client_order_id("s9:o9")), listed("web_123")
    assert unknown_orders("binance", [ours, stray, manual], ledger) == [stray]  # a hand-placed order is not ours
    assert unknown_orders("binance", [ours], None) == [ours]  # no ledger: nothing of ours is open
    on_gate = [listed(venue_client_id("gate", client_order_id(o))) for o in ("s1:o1", "s9:o9")]
    assert unknown_orders("gate", [*on_gate, listed("t-manual")], ledger) == [on_gate[1]]


def test_a_failed_read_halts_once_and_a_good_read_resumes() -> None:
    fresh = AccountExposure(account="main")
    halt = halt_change("main", fresh, "ExchangeUnavailable: timed out", T0)
    assert halt is not None and halt.action is AccountAction.HALT and "timed out" in halt.reason
    halted = fresh.derive(halted=halt.reason)
    assert halt_change("main", halted, "ExchangeUnavailable: timed out", T0) is None  # halted for it already
    resume = halt_change("main", halted, None, T0)
    assert resume is not None and resume.action is AccountAction.RESUME
    assert halt_change("main", fresh, None, T0) is None
