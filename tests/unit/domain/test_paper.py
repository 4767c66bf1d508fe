"""The paper fill model and ledger: prices, fees and balances worked out here by hand."""

from __future__ import annotations

from r3edge_streams.domain.paper import Overdrawn, PaperFill, filled_at, limit_fill, market_fill, settled
from r3edge_streams.models.enums import OrderSide
from r3edge_streams.models.sessions import FillModel
from tests.kit.factories import bar, d

BUY, SELL = OrderSide.BUY, OrderSide.SELL
MODEL = FillModel(fee_bps=d(10), slippage_bps=d(5))


def test_a_market_order_fills_at_the_next_open_with_slippage_and_fee() -> None:
    candle = bar(2, "200", "210", "190", "205")
    buy = market_fill(BUY, d(2), candle, MODEL)
    assert buy == PaperFill(d(2), d("200.1"), d(2) * d("200.1") * d("0.001"))  # 200 x 1.0005
    sell = market_fill(SELL, d(2), candle, MODEL)
    assert sell.price == d("199.9") and sell.fee == d("0.3998")
    free = market_fill(BUY, d(2), candle, FillModel(fee_bps=d(0), slippage_bps=d(0)))
    assert (free.price, free.fee) == (d(200), d(0))


def test_a_limit_order_fills_when_a_candle_trades_through_it_at_the_better_of_limit_and_open() -> None:
    flat = FillModel(fee_bps=d(0), slippage_bps=d(0))
    assert limit_fill(BUY, d(1), d(189), bar(2, "200", "210", "190", "205"), flat) is None
    reached = limit_fill(BUY, d(1), d(195), bar(2, "200", "210", "190", "205"), flat)
    assert reached is not None and reached.price == d(195)
    opened_below = limit_fill(BUY, d(1), d(195), bar(2, "192", "210", "190", "205"), flat)
    assert opened_below is not None and opened_below.price == d(192)
    sold = limit_fill(SELL, d(1), d(205), bar(2, "208", "210", "190", "205"), flat)
    assert sold is not None and sold.price == d(208)
    assert limit_fill(SELL, d(1), d(211), bar(2, "200", "210", "190", "205"), flat) is None


def test_balances_move_by_notional_and_fee_and_an_overdraft_is_refused() -> None:
    fill = filled_at(BUY, d(2), d(100), FillModel(fee_bps=d(10), slippage_bps=d(0)))
    after = settled({"BTC": d(1000)}, "ETH", "BTC", BUY, fill)
    assert after == {"ETH": d(2), "BTC": d(1000) - d(200) - d("0.2")}
    assert isinstance(after, dict)
    back = settled(after, "ETH", "BTC", SELL, filled_at(SELL, d(2), d(110), FillModel(fee_bps=d(10))))
    assert back == {"ETH": d(0), "BTC": d("799.8") + d(220) - d("0.22")}
    short_of_quote = settled({"BTC": d(200)}, "ETH", "BTC", BUY, fill)
    assert isinstance(short_of_quote, Overdrawn) and "BTC" in short_of_quote.reason
    short_of_base = settled({"ETH": d(1), "BTC": d(0)}, "ETH", "BTC", SELL, filled_at(SELL, d(2), d(1), MODEL))
    assert isinstance(short_of_base, Overdrawn) and "ETH" in short_of_base.reason
