"""The MoneyManager's steps: a raw order sized from the session's numbers carried in it, its client
id within the venue's rules, and its account's verdict (limits across sessions, redeliveries)."""

from __future__ import annotations

import re

from r3edge_streams.domain.exposure import AccountLimits
from r3edge_streams.domain.money import account_of, client_order_id, for_account, on_account_event, sized
from r3edge_streams.domain.sizing import Refused
from r3edge_streams.domain.tracking import on_signal
from r3edge_streams.models import AccountAction, AccountEvent, Direction, Order, OrderPurpose, OrderStatus, RawOrder
from tests.kit.factories import T0, d, rules, session, signal

BINANCE_CLIENT_ID = re.compile(r"^[a-zA-Z0-9_-]{1,36}$")


def raw_entry(price: str = "100", **risk_fields: object) -> RawOrder:
    result = on_signal(session(**risk_fields), None, signal(1, Direction.LONG, price), T0)
    assert result.order is not None
    return result.order


def test_an_entry_is_sized_from_the_equity_it_carries_on_the_lot_step() -> None:
    order = sized(raw_entry(position_fraction="0.1"), rules(lot="0.01", min_notional="1"))
    assert isinstance(order, Order)
    assert order.quantity == d(10) and order.notional == d(1000)  # 10000 x 0.1 / 100
    assert order.client_order_id == client_order_id(order.order_id) and order.cash == d(10000)


def test_client_ids_are_stable_distinct_and_within_binance_rules() -> None:
    ids = {client_order_id(f"session-{n}:o{m}") for n in range(50) for m in range(40)}
    assert len(ids) == 2000 and all(BINANCE_CLIENT_ID.match(i) for i in ids)
    assert client_order_id("s1:o1") == client_order_id("s1:o1")


def test_an_exit_takes_the_whole_holding_and_a_tiny_entry_is_refused() -> None:
    exit_raw = raw_entry().derive(purpose=OrderPurpose.EXIT, quantity=d("3.456"), reduce_only=True)
    exit_order = sized(exit_raw, rules(lot="0.001", min_notional="0"))
    assert isinstance(exit_order, Order) and exit_order.quantity == d("3.456")
    refused = sized(raw_entry(position_fraction="0.00001"), rules(min_notional="10"))
    assert isinstance(refused, Refused) and "minimum" in refused.reason


def test_the_account_writer_reserves_entries_passes_exits_and_refuses_beyond_its_limit() -> None:
    limits = AccountLimits(max_notional=d(1500))
    first = sized(raw_entry(), rules(lot="0.01", min_notional="1"))
    assert isinstance(first, Order)
    one = on_account_event(None, for_account(first), limits)
    assert one.order == first and one.report is None
    second = first.derive(order_id="s2:o1", session_id="s2", client_order_id=client_order_id("s2:o1"))
    two = on_account_event(None, for_account(second), limits)  # its own account: its own (empty) exposure
    assert two.order == second and for_account(second).account != for_account(first).account
    shared = [o.derive(account="main") for o in (first, second)]
    a = on_account_event(None, for_account(shared[0]), limits)
    b = on_account_event(a.exposure, for_account(shared[1]), limits)
    assert a.order is not None and b.order is None and b.report is not None
    assert b.report.status is OrderStatus.REJECTED and "exceed" in (b.report.reason or "")
    again = on_account_event(b.exposure, for_account(shared[1]), limits)
    assert again.order is None and again.report == b.report  # redelivered: the same verdict
    exit_order = shared[0].derive(order_id="s1:o2", purpose=OrderPurpose.EXIT, client_order_id=client_order_id("s1:o2"))
    passed = on_account_event(b.exposure, for_account(exit_order), limits)
    assert passed.order == exit_order and for_account(exit_order).action is AccountAction.PASS


def test_each_session_without_an_account_has_its_own() -> None:
    assert account_of("s1", None) == "session:s1" != account_of("s2", None)
    assert account_of("s1", "main") == "main"


def test_the_account_keeps_its_open_orders_and_refuses_new_ones_while_halted() -> None:
    entry = sized(raw_entry(), rules(lot="0.01", min_notional="1"))
    assert isinstance(entry, Order)
    entry = entry.derive(account="main")
    limits = AccountLimits()
    placed = on_account_event(None, for_account(entry), limits)
    assert placed.exposure.open_orders == [entry.order_id]
    halt = AccountEvent(event_id="h1", account="main", action=AccountAction.HALT, session_id="", order_id="",
                        at=T0, reason="cannot read its open orders")  # fmt: skip
    halted = on_account_event(placed.exposure, halt, limits).exposure
    assert halted.halted == "cannot read its open orders" and halted.open_orders == [entry.order_id]
    assert on_account_event(halted, for_account(entry), limits).order == entry  # a redelivery: open already
    second = entry.derive(order_id="s1:o2", client_order_id=client_order_id("s1:o2"))
    refused = on_account_event(halted, for_account(second), limits)
    assert refused.order is None and refused.report is not None and "halted" in (refused.report.reason or "")
    exit_order = entry.derive(order_id="s1:o3", purpose=OrderPurpose.EXIT, client_order_id=client_order_id("s1:o3"))
    held_exit = on_account_event(refused.exposure, for_account(exit_order), limits)
    assert held_exit.order is None and held_exit.report is not None
    resume = halt.derive(event_id="r1", action=AccountAction.RESUME, reason="")
    resumed = on_account_event(held_exit.exposure, resume, limits).exposure
    assert resumed.halted is None
    again = on_account_event(resumed, for_account(second), limits)  # refused once: never accepted later
    assert again.order is None and again.report is not None and again.report.reason == refused.report.reason
    assert on_account_event(resumed, for_account(exit_order), limits).order is None
    settled = AccountEvent(event_id="e1", account="main", action=AccountAction.SETTLE, session_id=entry.session_id,
                           order_id=entry.order_id, at=T0, notional=d(0))  # fmt: skip
    assert on_account_event(resumed, settled, limits).exposure.open_orders == []
