"""The OrderManager's step: an order kept once, each venue fill reported once and numbered, the
end reported once, and the account told what the order's end frees."""

from __future__ import annotations

from r3edge_streams.domain.execution import on_order, on_venue_event
from r3edge_streams.domain.money import sized
from r3edge_streams.domain.tracking import on_signal
from r3edge_streams.models import AccountAction, Direction, Order, OrderFill, OrderState, OrderStatus, VenueEvent
from tests.kit.factories import MINUTE, T0, d, rules, session, signal


def an_order() -> Order:
    raw = on_signal(session(), None, signal(1, Direction.LONG, "100"), T0).order
    assert raw is not None
    order = sized(raw, rules(lot="0.01", min_notional="1"))
    assert isinstance(order, Order) and order.quantity == d(10)
    return order


def fill(n: int, quantity: str, price: str) -> OrderFill:
    return OrderFill(trade_id=f"t{n}", quantity=d(quantity), price=d(price), fee=d("0.1"), at=T0 + 2 * MINUTE)


def event(status: OrderStatus, *fills: OrderFill, reason: str | None = None) -> VenueEvent:
    return VenueEvent(event_id=f"e{len(fills)}{status}", order_id="s1:o1", status=status, at=T0 + 2 * MINUTE,
                      fills=list(fills), reason=reason)  # fmt: skip


def kept() -> OrderState:
    state = on_order(None, an_order(), T0).state
    assert state is not None and state.status is OrderStatus.ACCEPTED and not state.placed
    return state


def test_an_order_is_kept_once() -> None:
    state = kept()
    assert on_order(state, an_order(), T0).state is None


def test_fills_are_reported_once_each_in_order_and_the_end_settles_the_entry() -> None:
    state = kept()
    partial = on_venue_event(state, event(OrderStatus.PARTIALLY_FILLED, fill(1, "4", "101")))
    assert [(r.status, r.sequence, r.last_quantity) for r in partial.reports] == [
        (OrderStatus.ACCEPTED, 1, d(0)), (OrderStatus.PARTIALLY_FILLED, 2, d(4))]  # fmt: skip
    assert partial.state is not None and not partial.account
    repeat = on_venue_event(partial.state, event(OrderStatus.PARTIALLY_FILLED, fill(1, "4", "101")))
    assert repeat.state is None and repeat.reports == []
    done = on_venue_event(partial.state, event(OrderStatus.FILLED, fill(1, "4", "101"), fill(2, "6", "102")))
    assert [(r.status, r.sequence, r.last_quantity, r.filled_quantity) for r in done.reports] == [
        (OrderStatus.FILLED, 3, d(6), d(10))]  # fmt: skip
    last = done.reports[-1]
    assert last.average_price == (d(404) + d(612)) / 10 and last.fee == d("0.2")
    assert [(e.action, e.notional) for e in done.account] == [(AccountAction.SETTLE, d(1016))]
    assert done.state is not None and on_venue_event(done.state, event(OrderStatus.FILLED)).state is None


def test_a_refusal_is_one_final_report_with_the_venue_reason() -> None:
    refused = on_venue_event(kept(), event(OrderStatus.REJECTED, reason="insufficient BTC"))
    assert [(r.status, r.reason, r.sequence) for r in refused.reports] == [
        (OrderStatus.REJECTED, "insufficient BTC", 1)]  # fmt: skip
    assert [(e.action, e.notional) for e in refused.account] == [(AccountAction.SETTLE, d(0))]


def test_an_exit_that_filled_releases_its_position() -> None:
    order = an_order().derive(purpose="exit")
    state = on_order(None, order, T0).state
    assert state is not None
    done = on_venue_event(state, event(OrderStatus.FILLED, fill(1, "10", "105")))
    assert [e.action for e in done.account] == [AccountAction.RELEASE]
