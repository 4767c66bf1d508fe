"""This worker's backtest jobs wired to Kafka: the pool that runs them and where their ends go.

In: settings, the ``backtests`` table and the partition assignment. Out: ``pool`` (the
:class:`~r3edge_streams.jobs.JobPool` of this worker, ``R3EDGE_BACKTEST_SLOTS`` jobs at once),
``queued_here()`` (the queued jobs of the ``backtests`` partitions this worker owns, for the
backtest agent's timer to start) and ``mine(job_id)``. A job's end (its report made small for
the table, or its error) goes on ``backtestevents`` for the backtest agent, the one writer of
the table.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .application import settings
from .catalogue import BACKTESTEVENTS, BACKTESTJOBS
from .collection import owned_partitions
from .domain.backtests import compact
from .jobs import JobPool
from .models import BacktestJob, BacktestOutcome, JobStatus
from .models.codec import partition_of
from .tables.backtests import backtests
from .topics import publish


async def tell_end(job: BacktestJob, report: dict[str, Any] | None, error: str | None) -> None:
    """A job ended here: its outcome for the backtest agent."""
    status = JobStatus.DONE if report is not None else JobStatus.FAILED
    await publish(BACKTESTEVENTS, BacktestOutcome(job_id=job.job_id, status=status, at=datetime.now(timezone.utc),
                                                  report=compact(report) if report is not None else None,
                                                  error=error))  # fmt: skip


def mine(job_id: str) -> bool:
    """Whether this worker owns the job's partition now."""
    return partition_of(job_id, settings.partitions) in owned_partitions(BACKTESTJOBS)


def queued_here() -> list[BacktestJob]:
    """The queued jobs of the partitions this worker owns (a job a killed worker ran is one)."""
    return [state.job for key, state in list(backtests.items()) if state.status is JobStatus.QUEUED and mine(key)]


pool = JobPool(settings.backtest_slots, tell_end)
