"""The backtest service: each job run by the worker that owns it, each sweep's results kept once.

The backtest agent consumes ``backtestjobs`` (a new job: queued) and ``backtestevents`` (a job's
end: its report or error) through one joint channel, both keyed by jobId, so it is the one
writer of the ``backtests`` table. Its timer starts the queued jobs of the partitions this
worker owns in the worker's job pool (:mod:`r3edge_streams.backtesting`; each job in a process
of its own, so no agent waits on one); a job whose partition moves is stopped and runs on the
new owner, and a job a killed worker was running is still queued, so the new owner runs it.
More workers own more partitions: a sweep's jobs spread over the cluster. A job's first end is
kept (a job run twice ends the same way); a job of a sweep then sends its result on
``sweepevents``, and a backtest session's job its trades and final position to the session's
PositionTracker on ``sessionsrequest``, confirmed before the table is written. The sweep agent consumes
``sweepevents`` and is the one writer of the ``sweeps`` table
(:func:`r3edge_streams.domain.backtests.on_sweep_event`: each job's result once).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, cast

from faust.types import StreamT
from mode.types.signals import BaseSignalT

from ..application import app, settings
from ..backtesting import pool, queued_here
from ..catalogue import BACKTESTEVENTS, BACKTESTJOBS, SESSIONSREQUEST, SWEEPEVENTS
from ..domain.backtests import on_sweep_event, session_result
from ..models import BacktestJob, BacktestOutcome, BacktestState, JobStatus, SweepEvent, SweepEventKind
from ..models.codec import partition_of
from ..streams import consume, consume_each
from ..tables.backtests import backtests
from ..tables.sweeps import sweeps
from ..topics import channel, joint_channel, publish, topic_name

log = logging.getLogger(__name__)
POOL_INTERVAL = 0.5  # seconds between looks for queued jobs to start


@app.agent(joint_channel(BACKTESTJOBS, BACKTESTEVENTS), name="backtests")
async def backtest_agent(stream: StreamT[bytes]) -> None:
    """Queue each new job; keep each job's first end."""
    await consume_each(stream, [(BACKTESTJOBS, take_job), (BACKTESTEVENTS, take_outcome)])


async def take_job(job: BacktestJob) -> None:
    if backtests.get(job.job_id) is None:
        backtests[job.job_id] = BacktestState(job=job, status=JobStatus.QUEUED, updated_at=job.submitted_at)


async def take_outcome(outcome: BacktestOutcome) -> None:
    held = backtests.get(outcome.job_id)
    if held is None or held.status.final:
        return  # ended already: a job run twice, or a redelivery
    job = held.job
    if job.session_id is not None:
        await publish(SESSIONSREQUEST, session_result(job, outcome))
    if job.sweep_id is not None:
        metrics = (outcome.report or {}).get("metrics")
        await publish(SWEEPEVENTS, SweepEvent(sweep_id=job.sweep_id, kind=SweepEventKind.RESULT, at=outcome.at,
                                              job_id=job.job_id, metrics=metrics, error=outcome.error))  # fmt: skip
    backtests[outcome.job_id] = held.derive(status=outcome.status, updated_at=outcome.at, report=outcome.report,
                                            error=outcome.error)  # fmt: skip


@app.timer(interval=POOL_INTERVAL, name="backtest_pool")
async def start_jobs() -> None:
    """Start the queued jobs this worker owns while its pool has room (never while partitions move)."""
    if app.rebalancing or not cast(Any, app.tables).recovery.completed.is_set():
        return
    started = pool.fill([job for job in queued_here() if job.job_id not in pool.running()])
    for job_id in started:
        log.info("backtest %s started at %s", job_id, datetime.now(timezone.utc).isoformat())


@app.on_partitions_revoked.connect  # type: ignore[arg-type]  # mode types the receiver too narrowly
async def stop_moved_jobs(sender: Any, revoked: set[Any], *args: Any, signal: BaseSignalT[Any], **kwargs: Any) -> None:
    """Partitions go: their jobs stop here and run on the new owner."""
    gone = {tp.partition for tp in revoked if tp.topic == topic_name(BACKTESTJOBS)}
    await pool.abandon(lambda job_id: partition_of(job_id, settings.partitions) not in gone)


@app.agent(channel(SWEEPEVENTS), name="sweeps")
async def sweep_agent(stream: StreamT[bytes]) -> None:
    """Each sweep's creation, then each job's result once."""
    await consume(stream, SWEEPEVENTS, take_sweep_event)


async def take_sweep_event(event: SweepEvent) -> None:
    changed = on_sweep_event(sweeps.get(event.sweep_id), event)
    if changed is not None:
        sweeps[event.sweep_id] = changed
