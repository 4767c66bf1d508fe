"""Backtest metrics: every expected figure is worked out here by hand from the module's formulas
(the arithmetic is written out, never asked of the module), then the edge cases where a figure
is undefined (no trades, no losing trade, flat equity) or a drawdown is never recovered."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, localcontext

import pytest

from r3edge_streams.domain.metrics import EquityPoint, Metrics, compute_metrics, metrics_json
from r3edge_streams.models import OrderPurpose, Trade
from tests.kit.factories import T0, d, trade

DAY = timedelta(days=1)
CLOSE = Decimal("1e-20")  # for figures with a square root: 28 digits, compared to 20 decimals


def day(i: int) -> timedelta:
    return i * DAY


def curve(*values: str, step: timedelta = DAY) -> list[EquityPoint]:
    """Equity points one ``step`` apart from T0."""
    return [(T0 + i * step, d(v)) for i, v in enumerate(values)]


# Six daily closes: up 10 %, down 10 %, flat, up 10 %, up 2 %: ends at 111.078 on a capital of 100.
EQUITY = curve("100", "110", "99", "99", "108.9", "111.078")
TRADES = [
    trade(1, T0, "100", T0 + day(1), "110", pnl="9.79", fees="0.21"),  # 1 x (110 - 100) - 0.21
    trade(2, T0 + day(1), "110", T0 + day(2), "99", pnl="-11.209", fees="0.209", reason=OrderPurpose.STOP_LOSS),
    trade(3, T0 + day(3), "99", T0 + day(5), "124.4", pnl="12.497", fees="0.203", quantity="0.5"),  # 12.7 - 0.203
]


def metrics(
    trades: list[Trade],
    equity: list[EquityPoint],
    timeframe: str = "1d",
    time_in_market: int = 0,
    first: str = "100",
    last: str = "125",
) -> Metrics:
    return compute_metrics(trades, equity, capital=d(100), first_close=d(first), last_close=d(last),
                           timeframe=timeframe, time_in_market=time_in_market)  # fmt: skip


def test_every_figure_of_a_small_backtest_worked_out_by_hand() -> None:
    m = metrics(TRADES, EQUITY, time_in_market=4)
    assert m.final_equity == d("111.078")
    assert m.total_return == d("0.11078")  # 111.078 / 100 - 1
    assert m.buy_and_hold_return == d("0.25")  # 125 / 100 - 1
    assert m.max_drawdown == d("0.1")  # peak 110 (day 1), trough 99: 11 / 110
    assert m.max_drawdown_duration == 4 * DAY  # 110 on day 1, regained by 111.078 on day 5
    assert m.trades == 3
    assert m.win_rate == d(2) / d(3)  # trades 1 and 3
    assert m.profit_factor == (d("9.79") + d("12.497")) / d("11.209")  # 22.287 / 11.209
    assert m.expectancy == d("11.078") / d(3)  # (9.79 - 11.209 + 12.497) / 3
    assert m.net_pnl == d("11.078") == m.final_equity - d(100)  # ended flat: equity = capital + net PnL
    assert m.fees == d("0.622")  # 0.21 + 0.209 + 0.203
    assert m.average_trade_duration == timedelta(hours=32)  # (1 + 1 + 2) days / 3
    assert m.exposure == d(4) / d(6)  # 4 candles in a position out of 6
    # returns 0.1, -0.1, 0, 0.1, 0.02: mean 0.12 / 5 = 0.024; deviations 0.076, -0.124, -0.024,
    # 0.076, -0.004, squared 0.005776 + 0.015376 + 0.000576 + 0.005776 + 0.000016 = 0.02752;
    # sample variance 0.02752 / 4 = 0.00688; 365 daily periods a year
    assert m.sharpe is not None and abs(m.sharpe - d("0.024") / d("0.00688").sqrt() * d(365).sqrt()) < CLOSE
    assert abs(m.sharpe - d("5.52795")) < d("0.00001")  # 0.024 / 0.0829458 x 19.10497
    # downside: only -0.1 is below 0: 0.01 / 4 = 0.0025, its root 0.05; 0.024 / 0.05 = 0.48
    assert m.sortino is not None and abs(m.sortino - d("0.48") * d(365).sqrt()) < CLOSE
    assert abs(m.sortino - d("9.17039")) < d("0.00001")


def test_the_json_form_has_decimals_as_strings_and_durations_as_seconds() -> None:
    out = metrics_json(metrics(TRADES, EQUITY, time_in_market=4))
    assert list(out) == [
        "total_return", "buy_and_hold_return", "max_drawdown", "max_drawdown_duration", "trades", "win_rate",
        "profit_factor", "expectancy", "average_trade_duration", "sharpe", "sortino", "exposure", "final_equity",
        "net_pnl", "fees",
    ]  # fmt: skip
    assert out["total_return"] == "0.11078" and out["max_drawdown"] == "0.1" and out["fees"] == "0.622"
    assert out["max_drawdown_duration"] == 4 * 86400 and out["average_trade_duration"] == 32 * 3600
    assert out["trades"] == 3 and isinstance(out["sharpe"], str) and Decimal(out["sharpe"]) > 5
    assert metrics_json(metrics([], curve("100", "100")))["win_rate"] is None


def test_the_figures_do_not_depend_on_the_callers_decimal_context() -> None:
    expected = metrics(TRADES, EQUITY, time_in_market=4)
    with localcontext() as context:
        context.prec = 6
        assert metrics(TRADES, EQUITY, time_in_market=4) == expected


def test_no_trades_and_flat_equity_leave_the_undefined_figures_none() -> None:
    m = metrics([], curve("100", "100", "100"))
    assert (m.trades, m.win_rate, m.profit_factor, m.expectancy, m.average_trade_duration) == (
        0,
        None,
        None,
        None,
        None,
    )
    assert (m.net_pnl, m.fees, m.exposure) == (0, 0, 0)
    assert (m.total_return, m.max_drawdown, m.max_drawdown_duration) == (0, 0, timedelta(0))
    assert m.sharpe is None and m.sortino is None  # zero variance, no losing candle


def test_without_a_losing_trade_there_is_no_profit_factor_and_a_zero_trade_is_no_win() -> None:
    trades = [
        trade(1, T0, "100", T0 + day(1), "105", pnl="5"),
        trade(2, T0 + day(1), "105", T0 + day(2), "105", pnl="0"),
    ]
    m = metrics(trades, curve("100", "105", "105"), time_in_market=2)
    assert m.profit_factor is None
    assert m.win_rate == d("0.5")  # 1 win of 2 trades: pnl 0 is not a win
    assert m.expectancy == d("2.5")  # (5 + 0) / 2
    assert m.exposure == d(2) / d(3)


def test_a_drawdown_never_recovered_lasts_until_the_end() -> None:
    m = metrics([], curve("100", "120", "90", "100", "110"))
    assert m.max_drawdown == d("0.25")  # peak 120, trough 90: 30 / 120
    assert m.max_drawdown_duration == 3 * DAY  # from the peak on day 1 to the last point, day 4
    assert m.total_return == d("0.1")


def test_the_longest_drawdown_may_be_an_earlier_recovered_one() -> None:
    m = metrics([], curve("100", "90", "95", "101", "100"))
    assert m.max_drawdown == d("0.1")  # 10 / 100 beats 1 / 101
    assert m.max_drawdown_duration == 3 * DAY  # 100 (day 0) regained on day 3; the last one lasts 1 day


def test_equity_only_rising_has_a_sharpe_but_no_sortino() -> None:
    m = metrics([], curve("100", "110", "132", step=timedelta(hours=1)), timeframe="1h")
    # returns 0.1 and 0.2: mean 0.15, deviations -0.05 and 0.05, variance 0.005 / 1; 8760 hours a year
    assert m.sharpe is not None and abs(m.sharpe - d("0.15") / d("0.005").sqrt() * d(8760).sqrt()) < CLOSE
    assert m.sortino is None  # no candle lost money
    assert m.max_drawdown == 0 and m.max_drawdown_duration == timedelta(0)


def test_one_point_has_no_ratio() -> None:
    m = metrics([], curve("104"))
    assert m.sharpe is None and m.sortino is None and m.total_return == d("0.04") and m.exposure == 0


@pytest.mark.parametrize(
    ("equity", "time_in_market", "capital", "message"),
    [
        ([], 0, "100", "empty"),
        ([(T0 + DAY, d(100)), (T0, d(101))], 0, "100", "out of order"),
        (curve("100", "100"), 3, "100", "time in market 3"),
        (curve("100", "100"), 0, "0", "must be positive"),
        (curve("100", "0"), 0, "100", "equity must stay positive"),
    ],
)
def test_inputs_without_metrics_are_refused(
    equity: list[EquityPoint], time_in_market: int, capital: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compute_metrics([], equity, capital=d(capital), first_close=d(1), last_close=d(1), timeframe="1d",
                        time_in_market=time_in_market)  # fmt: skip
