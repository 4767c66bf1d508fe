"""Sweeps (pure): a grid made into jobs, each job's result kept once, the ranking by a metric,
and a report made small for the table."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from r3edge_streams.domain.backtests import (
    KEPT_POINTS,
    KEPT_TRADES,
    compact,
    grid_points,
    on_sweep_event,
    ranking,
    sweep_jobs,
)
from r3edge_streams.models import SweepEvent, SweepEventKind

T0 = datetime(2017, 11, 6, tzinfo=timezone.utc)
MARKET = {"exchange": "replay", "symbol": "UNITTEST/BTC", "timeframe": "1m"}


def created() -> SweepEvent:
    jobs = sweep_jobs("s", grid_points({"fast": [3, 5], "slow": [20, 30]}), [MARKET])
    return SweepEvent(sweep_id="s", kind=SweepEventKind.CREATED, at=T0, jobs=jobs, metric="sharpe")


def result(job: str, at: int, **metrics: str | None) -> SweepEvent:
    return SweepEvent(sweep_id="s", kind=SweepEventKind.RESULT, at=T0 + timedelta(seconds=at), job_id=job,
                      metrics=dict(metrics))  # fmt: skip


def test_a_grid_is_every_combination_and_each_market_gets_them_all() -> None:
    points = grid_points({"fast": [3, 5], "slow": [20, 30, 40]})
    assert points[:2] == [{"fast": 3, "slow": 20}, {"fast": 3, "slow": 30}] and len(points) == 6
    other = {**MARKET, "symbol": "ETH/BTC"}
    jobs = sweep_jobs("s", points, [MARKET, other])
    assert list(jobs)[:1] == ["s:1"] and len(jobs) == 12
    assert jobs["s:7"] == {"parameters": {"fast": 3, "slow": 20}, **other}


def test_a_result_is_kept_once_and_only_for_a_job_of_the_sweep() -> None:
    state = on_sweep_event(None, created())
    assert state is not None and len(state.jobs) == 4 and state.results == {}
    assert on_sweep_event(state, created()) is None, "created once"
    first = on_sweep_event(state, result("s:1", 5, sharpe="1.5"))
    assert first is not None and first.results == {"s:1": {"metrics": {"sharpe": "1.5"}}}
    assert on_sweep_event(first, result("s:1", 9, sharpe="9")) is None, "a job run twice has its first result"
    assert on_sweep_event(first, result("t:1", 9, sharpe="9")) is None, "not a job of this sweep"
    assert on_sweep_event(None, result("s:1", 9, sharpe="9")) is None, "no sweep yet"
    failed = on_sweep_event(first, SweepEvent(sweep_id="s", kind=SweepEventKind.RESULT, at=T0, job_id="s:2",
                                              error="no candles"))  # fmt: skip
    assert failed is not None and failed.results["s:2"] == {"error": "no candles"}


def test_the_ranking_puts_the_best_first_lower_is_better_for_drawdowns_and_missing_values_last() -> None:
    state = on_sweep_event(None, created())
    for job, sharpe, drawdown in (("s:1", "0.5", "0.2"), ("s:2", None, "0.1"), ("s:3", "2.25", "0.3"),
                                  ("s:4", "-1", "0.05")):  # fmt: skip
        assert state is not None
        state = on_sweep_event(state, result(job, 1, sharpe=sharpe, max_drawdown=drawdown))
    assert state is not None
    assert [r["job_id"] for r in ranking(state, "sharpe")] == ["s:3", "s:1", "s:4", "s:2"]
    assert [r["job_id"] for r in ranking(state, "max_drawdown")] == ["s:4", "s:2", "s:1", "s:3"]
    best = ranking(state, "sharpe")[0]
    assert best["rank"] == 1 and best["parameters"] == {"fast": 5, "slow": 20} and best["symbol"] == "UNITTEST/BTC"


def test_a_report_for_the_table_keeps_no_candles_the_newest_trades_and_a_thinned_equity_with_its_end() -> None:
    report = {"backtest": {"id": "b"}, "metrics": {"trades": 1500}, "candles": [{"time": "t"}] * 5000,
              "orders": [{}] * 10, "trades": [{"number": n} for n in range(1500)],
              "equity": [{"time": str(n), "equity": str(n)} for n in range(4321)], "gaps": []}  # fmt: skip
    small = compact(report)
    assert "candles" not in small and "orders" not in small and small["backtest"] == {"id": "b"}
    assert small["trades_total"] == 1500 and len(small["trades"]) == KEPT_TRADES
    assert small["trades"][-1] == {"number": 1499}
    assert len(small["equity"]) <= KEPT_POINTS + 1 and small["equity"][-1] == {"time": "4320", "equity": "4320"}
    assert small["equity"][0] == {"time": "0", "equity": "0"}
