"""Backtest messages: a job to run, its state and report, and the sweeps that make many jobs.

In: the backtests and sweeps views (and a backtest session's start), the workers that run the
jobs. Out: ``BacktestJob`` on ``backtestjobs`` (key jobId), ``BacktestOutcome`` on
``backtestevents`` (key jobId), ``BacktestState`` in the ``backtests`` table, ``SweepEvent`` on
``sweepevents`` (key sweepId) and ``SweepState`` in the ``sweeps`` table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from .base import Record
from .enums import JobStatus, SweepEventKind
from .sessions import SessionSpec


class BacktestJob(Record):
    """One backtest to run: the session spec on its market over [start, end)."""

    job_id: str
    spec: SessionSpec
    start: datetime
    end: datetime
    submitted_at: datetime
    sweep_id: Optional[str] = None  # the sweep it is a part of
    session_id: Optional[str] = None  # the backtest session whose trades it makes


class BacktestOutcome(Record):
    """A job's end, from the worker that ran it (``backtestevents``, key jobId): its report
    (without the candles, made small for the table) or why it failed."""

    job_id: str
    status: JobStatus
    at: datetime
    report: Optional[dict[str, Any]] = None
    error: Optional[str] = None


class BacktestState(Record):
    """The ``backtests`` table value: the job, where it is, and its report (without the candles:
    the page reads them again from the history) or its error."""

    job: BacktestJob
    status: JobStatus
    updated_at: datetime
    error: Optional[str] = None
    report: Optional[dict[str, Any]] = None


class SweepEvent(Record):
    """For the sweep's one writer: its creation (every job id with its parameters and market), or
    one job's result (its report's metrics, or its error)."""

    sweep_id: str
    kind: SweepEventKind
    at: datetime
    jobs: dict[str, dict[str, Any]] = {}  # created: job id -> {"parameters", "exchange", "symbol", "timeframe"}
    metric: str = "sharpe"  # created: the ranking's default metric
    job_id: Optional[str] = None  # result
    metrics: Optional[dict[str, Any]] = None  # result: the report's metrics
    error: Optional[str] = None  # result: why the job failed


class SweepState(Record):
    """The ``sweeps`` table value: the sweep's jobs and the result of each that ended (once each)."""

    sweep_id: str
    created_at: datetime
    updated_at: datetime
    metric: str = "sharpe"
    jobs: dict[str, dict[str, Any]] = {}
    results: dict[str, dict[str, Any]] = {}  # job id -> {"metrics": ...} or {"error": ...}
