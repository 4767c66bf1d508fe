"""Backtest jobs and sweeps (pure): a grid made into jobs, a sweep's results kept once each and
ranked, a report made small enough for a table, a backtest session's result for its tracker.

In: a sweep's parameter grid and markets, the sweep's ``SweepState`` and a ``SweepEvent``, a
report (:mod:`r3edge_streams.reports.build`), a backtest session's job and its outcome. Out:
the jobs of a grid (ids from the sweep id and their number), the sweep's next state (a job's
result is kept once: a job run twice after a takeover has one result), its ranking by a metric,
the report as stored (no candles: the page reads them again; at most ``KEPT_TRADES`` trades and
``KEPT_POINTS`` equity points), and a backtest session's result for its tracker (its trades and
final position, or the error).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ..models import (
    BacktestJob,
    BacktestOutcome,
    BacktestResult,
    Position,
    RequestKind,
    SessionRequest,
    SweepEvent,
    SweepEventKind,
    SweepState,
    Trade,
    parse_model,
)

MAX_JOBS = 1000  # jobs one sweep may make
KEPT_TRADES = 1000  # trades of a report kept in the table (the newest)
KEPT_POINTS = 1000  # equity points kept (evenly picked, the last one always)
LOWER_IS_BETTER = frozenset({"max_drawdown", "max_drawdown_duration"})
#: the metrics a sweep may be ranked by (those of :mod:`.metrics` that order results)
RANKED_METRICS = ("total_return", "sharpe", "sortino", "profit_factor", "win_rate", "expectancy", "net_pnl",
                  "final_equity", "max_drawdown", "max_drawdown_duration", "exposure", "trades")  # fmt: skip


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the grid's order (the last name varies fastest)."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def sweep_jobs(
    sweep_id: str, points: Sequence[Mapping[str, Any]], markets: Sequence[Mapping[str, str]]
) -> dict[str, dict[str, Any]]:
    """Job id -> its parameters and market, one job per (market, grid point)."""
    jobs: dict[str, dict[str, Any]] = {}
    for number, (market, point) in enumerate(itertools.product(markets, points), 1):
        jobs[f"{sweep_id}:{number}"] = {"parameters": dict(point), **dict(market)}
    return jobs


def on_sweep_event(state: SweepState | None, event: SweepEvent) -> SweepState | None:
    """The sweep after ``event``; None when nothing changes (a repeat, or a result of no job of it)."""
    if event.kind is SweepEventKind.CREATED:
        if state is not None:
            return None  # created once
        return SweepState(sweep_id=event.sweep_id, created_at=event.at, updated_at=event.at, metric=event.metric,
                          jobs=dict(event.jobs))  # fmt: skip
    if state is None or event.job_id is None or event.job_id not in state.jobs or event.job_id in state.results:
        return None  # a result is kept once: a job run again after a takeover changes nothing
    result = {"error": event.error} if event.error is not None else {"metrics": dict(event.metrics or {})}
    return state.derive(results={**state.results, event.job_id: result}, updated_at=max(state.updated_at, event.at))


def ranking(state: SweepState, metric: str) -> list[dict[str, Any]]:
    """The done jobs, best first by ``metric`` (a missing value last), each with its rank."""
    done = [(job_id, result["metrics"]) for job_id, result in state.results.items() if "metrics" in result]
    lower = metric in LOWER_IS_BETTER

    def key(item: tuple[str, dict[str, Any]]) -> tuple[int, Decimal, str]:
        value = _number(item[1].get(metric))
        if value is None:
            return (1, Decimal(0), item[0])
        return (0, value if lower else -value, item[0])

    ordered = sorted(done, key=key)
    return [{"rank": n, "job_id": job_id, **state.jobs[job_id], "metrics": metrics}
            for n, (job_id, metrics) in enumerate(ordered, 1)]  # fmt: skip


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def session_result(job: BacktestJob, outcome: BacktestOutcome) -> SessionRequest:
    """A backtest session's job ended: its report's trades and final position (or its error) for
    the session's tracker."""
    assert job.session_id is not None
    report = outcome.report or {}
    trades = [_trade(job.session_id, t) for t in report.get("trades", [])]
    raw_position = report.get("position")
    position = parse_model(Position, raw_position) if raw_position is not None else None
    result = BacktestResult(job_id=job.job_id, trades=trades, trades_total=int(report.get("trades_total", len(trades))),
                            position=position, error=outcome.error)  # fmt: skip
    return SessionRequest(request_id=f"backtest:{job.job_id}", session_id=job.session_id, kind=RequestKind.BACKTEST,
                          at=outcome.at, result=result)  # fmt: skip


def _trade(session_id: str, row: Mapping[str, Any]) -> Trade:
    """A trade of a report (:mod:`r3edge_streams.reports.build`) as the session's trades keep it."""
    return parse_model(Trade, {
        "session_id": session_id, "number": row["number"], "side": row["side"], "quantity": row["quantity"],
        "entry_time": row["entry_time"], "entry_price": row["entry_price"], "exit_time": row["exit_time"],
        "exit_price": row["exit_price"], "fees": row["fee"], "pnl": row["pnl"], "exit_reason": row["exit_reason"],
        "entry_order_id": row["entry_order_id"], "exit_order_id": row["exit_order_id"],
    })  # fmt: skip


def compact(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report as a table keeps it: no candles, the newest trades, the equity evenly thinned."""
    trades, equity = list(report.get("trades", [])), list(report.get("equity", []))
    step = max(1, -(-len(equity) // KEPT_POINTS))
    thinned = equity[::step]
    if equity and thinned[-1] is not equity[-1]:
        thinned.append(equity[-1])
    kept = {key: value for key, value in report.items() if key not in ("candles", "orders", "trades", "equity")}
    return {**kept, "trades": trades[-KEPT_TRADES:], "trades_total": len(trades), "equity": thinned}
