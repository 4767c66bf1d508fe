"""PnL with fees: every expected figure is computed here by hand from the fills, and a property
checks the invariant a trader relies on: flat again, equity is capital plus the trades' PnL."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from r3edge_streams.domain.ledger import Fill, Holding, apply_fill, quote_fill
from r3edge_streams.models.enums import OrderSide
from tests.kit.factories import T0, d

BUY, SELL = OrderSide.BUY, OrderSide.SELL


def fill(side: OrderSide, quantity: str, price: str, fee: str = "0") -> Fill:
    return Fill(side, d(quantity), d(price), d(fee), T0)


def test_a_long_round_trip_with_fees() -> None:
    held, closed = apply_fill(Holding.of(d(1000)), fill(BUY, "2", "100", "0.2"))
    assert closed is None and (held.quantity, held.average_price, held.cash) == (d(2), d(100), d("799.8"))
    assert held.equity(d(110)) == d("1019.8") and held.unrealized_pnl(d(110)) == d(20)
    held, closed = apply_fill(held, fill(SELL, "2", "110", "0.22"))
    assert closed is not None and closed.long and closed.quantity == d(2)
    assert (closed.fees, closed.pnl) == (d("0.42"), d(20) - d("0.42"))
    assert held.flat and held.cash == d(1000) + closed.pnl and held.fees == d("0.42")


def test_adding_averages_the_entry_and_a_partial_exit_takes_its_share_of_the_entry_fees() -> None:
    held, _ = apply_fill(Holding.of(d(10000)), fill(BUY, "1", "100", "1"))
    held, _ = apply_fill(held, fill(BUY, "3", "120", "3"))
    assert held.average_price == d(115) and held.open_fees == d(4)  # (100 + 360) / 4
    held, closed = apply_fill(held, fill(SELL, "1", "125", "0.5"))
    assert closed is not None and closed.pnl == d(10) - d(1) - d("0.5")  # 1 x (125 - 115) - 4/4 - 0.5
    assert held.quantity == d(3) and held.open_fees == d(3) and held.average_price == d(115)


def test_a_short_gains_when_the_price_falls_and_a_fill_beyond_the_position_reverses_it() -> None:
    held, _ = apply_fill(Holding.of(d(1000)), fill(SELL, "2", "100", "0"))
    assert held.quantity == d(-2) and held.cash == d(1200)
    held, closed = apply_fill(held, fill(BUY, "3", "90", "0.3"))
    assert closed is not None and not closed.long and closed.quantity == d(2)
    assert closed.pnl == d(20) - d("0.2")  # 2 x (100 - 90), with 2/3 of the fee
    assert held.quantity == d(1) and held.average_price == d(90) and held.open_fees == d("0.1")


@given(
    fills=st.lists(
        st.tuples(
            st.sampled_from([BUY, SELL]),
            st.integers(min_value=1, max_value=50),
            st.integers(min_value=50, max_value=150),
            st.integers(min_value=0, max_value=30),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_flat_again_equity_is_capital_plus_the_closed_parts_pnl(fills: list[tuple[OrderSide, int, int, int]]) -> None:
    held, pnl = Holding.of(d(100000)), Decimal(0)
    for side, quantity, price, fee_cents in fills:
        held, closed = apply_fill(held, Fill(side, d(quantity), d(price), d(fee_cents) / 100, T0))
        pnl += closed.pnl if closed else 0
    if not held.flat:  # close what is left at the last price
        side = SELL if held.quantity > 0 else BUY
        held, closed = apply_fill(held, Fill(side, abs(held.quantity), d(fills[-1][2]), d(0), T0))
        pnl += closed.pnl if closed else 0
    assert held.flat
    assert abs(held.equity(None) - (d(100000) + pnl)) < Decimal("1e-15")
    assert abs(held.realized_pnl - held.fees - pnl) < Decimal("1e-15")


def test_a_buy_whose_fee_is_taken_in_the_base_asset_holds_what_the_exchange_left() -> None:
    """Binance takes a buy's commission from the coins bought: 100 bought, 0.1 fee, 99.9 held;
    the cash paid is exactly 100 x price, and the fee is that 0.1 at the price."""
    bought = quote_fill(BUY, d(100), d("0.002"), d("0.1"), "UNITTEST", "UNITTEST/BTC", T0)
    held, _ = apply_fill(Holding.of(d(1)), bought)
    assert held.quantity == d("99.9")
    assert held.cash == d(1) - d(100) * d("0.002")
    assert held.fees == d("0.1") * d("0.002")
    sold = quote_fill(SELL, d("99.9"), d("0.003"), d("0.0002997"), "BTC", "UNITTEST/BTC", T0)  # in quote
    flat, closed = apply_fill(held, sold)
    assert flat.flat and closed is not None
    assert flat.cash == d(1) - d("0.2") + d("99.9") * d("0.003") - d("0.0002997")  # what the account holds


def test_a_fee_in_a_third_asset_is_not_money_of_the_market() -> None:
    assert quote_fill(BUY, d(5), d(2), d("0.01"), "BNB", "UNITTEST/BTC", T0) == Fill(BUY, d(5), d(2), d(0), T0)
    assert quote_fill(BUY, d(5), d(2), d("0.01"), None, "UNITTEST/BTC", T0) == Fill(BUY, d(5), d(2), d("0.01"), T0)
