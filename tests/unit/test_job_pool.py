"""The worker's job pool (no processes here: the runner is the test's): at most ``slots`` jobs at
once, oldest first, each end told once with its report or error, a job just told not started
again while its table catches up, and the jobs of a moved partition stopped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from r3edge_streams.jobs import JobFailed, JobPool
from r3edge_streams.models import BacktestJob, SessionMode, SessionSpec

T0 = datetime(2017, 11, 6, tzinfo=timezone.utc)
SPEC = SessionSpec(strategy="sma_cross", parameters={"fast": 3, "slow": 8}, exchange="replay", symbol="UNITTEST/BTC",
                   timeframe="1m", mode=SessionMode.BACKTEST, refresh_seconds=60)  # fmt: skip


def job(n: int) -> BacktestJob:
    return BacktestJob(job_id=f"j{n}", spec=SPEC, start=T0, end=T0 + timedelta(days=1),
                       submitted_at=T0 + timedelta(seconds=n))  # fmt: skip


class Runs:
    """A runner whose jobs end when the test says (a report, or JobFailed)."""

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.cancelled: list[str] = []

    async def __call__(self, job: BacktestJob, progress: Callable[[int, int], None]) -> dict[str, Any]:
        progress(1, 10)
        gate = self.gates.setdefault(job.job_id, asyncio.get_running_loop().create_future())
        try:
            return await gate
        except asyncio.CancelledError:
            self.cancelled.append(job.job_id)
            raise


async def turn() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_slots_oldest_first_each_end_told_once_and_not_started_again_at_once() -> None:
    told: list[tuple[str, Any, Any]] = []

    async def finished(job: BacktestJob, report: dict[str, Any] | None, error: str | None) -> None:
        told.append((job.job_id, report, error))

    runs, clock = Runs(), [0.0]
    pool = JobPool(2, finished, runs, clock=lambda: clock[0])
    assert pool.fill([job(3), job(1), job(2)]) == ["j1", "j2"], "the oldest, as many as the slots"
    await turn()
    assert pool.running() == {"j1", "j2"} and pool.progress["j1"] == (1, 10)
    runs.gates["j1"].set_result({"metrics": {}})
    runs.gates["j2"].set_exception(JobFailed("no candles"))
    await turn()
    assert told == [("j1", {"metrics": {}}, None), ("j2", None, "no candles")]
    assert pool.running() == set() and "j1" not in pool.progress
    assert pool.fill([job(1), job(2), job(3)]) == ["j3"], "a job just told waits for its table"
    clock[0] = 61.0
    assert pool.fill([job(1)]) == ["j1"], "still queued a minute later: its end was lost, run it again"
    await pool.close()


async def test_the_jobs_of_a_moved_partition_stop_and_are_not_told() -> None:
    told: list[str] = []

    async def finished(job: BacktestJob, report: dict[str, Any] | None, error: str | None) -> None:
        told.append(job.job_id)

    runs = Runs()
    pool = JobPool(3, finished, runs)
    pool.fill([job(1), job(2)])
    await turn()
    await pool.abandon(lambda job_id: job_id != "j2")
    assert runs.cancelled == ["j2"] and pool.running() == {"j1"} and told == []
    await pool.close()
    assert runs.cancelled == ["j2", "j1"] and told == []
