"""Sizing and rounding: each expected quantity is worked out here from the formula in the README
(equity, price, stop, fee, lot step), not read from the code under test."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from r3edge_streams.domain.sizing import Refused, Sized, limit_price, on_step, size_entry, size_exit, within_rules
from r3edge_streams.models.enums import OrderSide, SizingMethod
from tests.kit.factories import d, risk, rules

FEE = d("0.001")


def test_fraction_sizing_buys_that_share_of_equity_on_the_lot_step() -> None:
    sized = size_entry(risk(position_fraction="0.1"), OrderSide.BUY, d(10000), d(10000), d("0.0123"), None, FEE,
                       rules(lot="1", tick="0.0001", min_notional="0.001", min_quantity="1"))  # fmt: skip
    # 10000 x 0.1 = 1000 quote; 1000 / 0.0123 = 81300.81... -> 81300 on a lot step of 1
    assert sized == Sized(d(81300), d(81300) * d("0.0123"))


def test_risk_sizing_loses_the_risk_fraction_at_the_stop() -> None:
    params = risk(sizing=SizingMethod.RISK, risk_per_trade="0.01", max_position_fraction="1")
    sized = size_entry(params, OrderSide.BUY, d(10000), d(10000), d(100), d(98), FEE, rules(lot="0.01"))
    # loss at the stop: 10000 x 0.01 = 100 quote over a distance of 2 -> 50 units (5000 quote)
    assert isinstance(sized, Sized) and sized.quantity == d(50)
    assert sized.quantity * (d(100) - d(98)) == d(10000) * d("0.01")


def test_the_caps_are_the_position_fraction_and_the_cash_with_its_fee() -> None:
    params = risk(sizing=SizingMethod.RISK, risk_per_trade="0.05", max_position_fraction="0.25")
    capped = size_entry(params, OrderSide.BUY, d(10000), d(10000), d(100), d(99), FEE, rules(lot="0.01"))
    assert isinstance(capped, Sized) and capped.quantity == d(25)  # 2500 quote of 10000, not 500 units
    poor = size_entry(risk(position_fraction="0.5", max_position_fraction="1"), OrderSide.BUY, d(10000), d(1001),
                      d(100), None, FEE, rules(lot="0.01"))  # fmt: skip
    # 1001 / 1.001 = 1000 quote -> 10 units, and 10 x 100 x (1 + 0.001) = 1001 is exactly the cash
    assert isinstance(poor, Sized) and poor.quantity == d(10)
    assert poor.quantity * d(100) * (1 + FEE) <= d(1001)


def test_what_cannot_trade_is_refused_with_the_reason() -> None:
    no_stop = size_entry(risk(sizing=SizingMethod.RISK), OrderSide.BUY, d(10000), d(10000), d(100), None, FEE, rules())
    assert isinstance(no_stop, Refused) and "stop" in no_stop.reason
    tiny = size_entry(risk(position_fraction="0.0001"), OrderSide.BUY, d(10000), d(10000), d(100), None, FEE,
                      rules(min_notional="10"))  # fmt: skip
    assert isinstance(tiny, Refused) and "minimum" in tiny.reason and "notional" in tiny.reason  # 1 quote < 10
    below_lot = within_rules(d("0.0004"), d(100), rules(lot="0.001", min_quantity="0.001", min_notional="0"))
    assert isinstance(below_lot, Refused) and "quantity" in below_lot.reason
    broke = size_entry(risk(), OrderSide.BUY, d(0), d(0), d(100), None, FEE, rules())
    assert isinstance(broke, Refused)


def test_exits_take_the_whole_holding_and_the_market_maximum_bounds_an_entry() -> None:
    assert size_exit(d("-1.2345"), d(10), rules(lot="0.001")) == Sized(d("1.234"), d("12.340"))
    assert isinstance(size_exit(d("0.0004"), d(10), rules(lot="0.001")), Refused)
    capped = within_rules(d(500), d(1), rules(lot="1", min_notional="1", max_quantity=d(120)))
    assert capped == Sized(d(120), d(120))


def test_limit_prices_round_to_the_tick_on_the_safe_side() -> None:
    assert limit_price(d("100.129"), OrderSide.BUY, rules(tick="0.01")) == d("100.12")
    assert limit_price(d("100.121"), OrderSide.SELL, rules(tick="0.01")) == d("100.13")
    assert limit_price(d("100.12"), OrderSide.SELL, rules(tick="0.01")) == d("100.12")


@given(
    quantity=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**6), places=6),
    step=st.sampled_from([d("0.001"), d("0.01"), d("1"), d("0.00001"), d("5")]),
)
def test_on_step_is_a_whole_number_of_steps_never_above_the_value(quantity: Decimal, step: Decimal) -> None:
    rounded = on_step(quantity, step)
    assert rounded <= quantity < rounded + step
    assert (rounded / step) == (rounded / step).to_integral_value()
