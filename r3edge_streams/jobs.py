"""Backtest jobs, each run in a process of its own so the worker's event loop never waits on one.

In: ``BacktestJob`` records and the settings (the replay folder, the data folder for the candle
cache, the exchanges' URLs). Out: ``run_job``: a job's report (:mod:`r3edge_streams.reports.build`)
or ``JobFailed`` with the reason (a bad request, a market without candles, an exchange that
cannot give them); ``JobPool``: this worker's jobs under way, at most ``slots`` at once, their
progress (candles done, in all), and each one's end handed to a callback.

The child is spawned (not forked: the worker's Kafka clients and event loop are not copied),
builds its candle source from the settings: the replay files of the ``replay`` exchange (the
finest file of the symbol, resampled), else the exchange's history through the local SQLite
cache (``<data dir>/history.sqlite``); it sends progress each percent and then the report on a
pipe. A job whose partition moves is stopped (its child killed) and runs on the new owner; a
worker that stops takes its children with it (daemon processes); one that is killed leaves an
orphan that ends at its next write to the closed pipe. A job that runs twice ends the same way
(the driver is deterministic), and its first end is the one kept.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from .backtests import BacktestInputError, BacktestRequest, report_candles, run_backtest
from .config import Settings, load_settings
from .exchanges.history import CandleCache, HistoryReader
from .exchanges.registry import REPLAY_ID, ExchangeRegistry, replay_file
from .models import BacktestJob, parse_bytes
from .reports.html import render_html

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2
TOLD_FOR = 60.0  # seconds a job whose end was told is not started again while its table catches up


class JobFailed(Exception):
    """The job ended without a report; the message says why."""


def request_of(job: BacktestJob, settings: Settings) -> tuple[BacktestRequest, HistoryReader | None]:
    """Where the job's candles come from: the replay files, or the exchange's history (cached)."""
    spec = job.spec
    if spec.exchange == REPLAY_ID:
        found = replay_file(settings.replay_dir, spec.symbol) if settings.replay_dir is not None else None
        if found is None:
            raise BacktestInputError(f"the replay has no file of {spec.symbol} (R3EDGE_REPLAY_DIR)")
        return BacktestRequest(job.session_id or job.job_id, spec, job.start, job.end, found), None
    reader = HistoryReader(
        CandleCache(settings.data_dir / "history.sqlite"), ExchangeRegistry(settings).get(spec.exchange)
    )
    return BacktestRequest(job.session_id or job.job_id, spec, job.start, job.end), reader


async def report_page(job: BacktestJob, report: dict[str, Any], settings: Settings) -> str:
    """The HTML page of a stored report: its candles read again from the job's source."""
    request, reader = request_of(job, settings)
    try:
        candles = await report_candles(request, reader)
    finally:
        if reader is not None:
            await reader.close()
    return await asyncio.to_thread(render_html, {**report, "candles": candles})


def child(job_bytes: bytes, conn: Connection) -> None:
    """The spawned process: run the job, send ``("progress", done, total)``s and one
    ``("report", report)`` or ``("error", reason)``."""
    try:
        asyncio.run(_child(parse_bytes(BacktestJob, job_bytes), load_settings(), conn))
    finally:
        conn.close()


async def _child(job: BacktestJob, settings: Settings, conn: Connection) -> None:
    shown = [-1]

    def progress(done: int, total: int) -> None:
        percent = done * 100 // max(total, 1)
        if percent != shown[0]:
            shown[0] = percent
            conn.send(("progress", done, total))

    reader = None
    try:
        request, reader = request_of(job, settings)
        conn.send(("report", await run_backtest(request, reader, progress)))
    except BacktestInputError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - any failure of a job is its result, told to its owner
        conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))
    finally:
        if reader is not None:
            await reader.close()


async def run_job(job: BacktestJob, progress: Callable[[int, int], None]) -> dict[str, Any]:
    """The job's report, from a child process; ``JobFailed`` with the reason if it has none.
    Cancelled, the child is killed at once."""
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=child, args=(job.dumps(), sending), daemon=True, name=f"backtest {job.job_id}")
    process.start()
    sending.close()
    finished = False
    try:
        report = await _receive(receiving, progress)
        finished = True
        return report
    finally:
        receiving.close()
        if finished:
            await asyncio.to_thread(process.join, 5)
        if process.is_alive():
            process.kill()
            await asyncio.to_thread(process.join)


async def _receive(receiving: Connection, progress: Callable[[int, int], None]) -> dict[str, Any]:
    while True:
        if not await asyncio.to_thread(receiving.poll, POLL_SECONDS):
            continue
        try:
            message = receiving.recv()
        except EOFError:
            raise JobFailed("the backtest's process ended without a report") from None
        if message[0] == "progress":
            progress(int(message[1]), int(message[2]))
        elif message[0] == "report":
            return dict(message[1])
        else:
            raise JobFailed(str(message[1]))


Finished = Callable[[BacktestJob, "dict[str, Any] | None", "str | None"], Awaitable[None]]
Runner = Callable[[BacktestJob, Callable[[int, int], None]], Awaitable["dict[str, Any]"]]


class JobPool:
    """This worker's running jobs, at most ``slots`` at once, each on a task of its own; a job that
    ends is told to ``finished`` (its report, or its error)."""

    def __init__(
        self, slots: int, finished: Finished, runner: Runner = run_job, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.slots = slots
        self._finished = finished
        self._runner = runner
        self._clock = clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._told: dict[str, float] = {}  # job id -> when its end was told (its table write is on its way)
        self.progress: dict[str, tuple[int, int]] = {}  # job id -> (candles done, candles in all)

    def running(self) -> set[str]:
        return set(self._tasks)

    def fill(self, queued: Sequence[BacktestJob]) -> list[str]:
        """Start the oldest of ``queued`` not running yet, while slots are free; their ids. A job
        whose end was told a moment ago is not started again (the table may not show it yet)."""
        now = self._clock()
        self._told = {job_id: at for job_id, at in self._told.items() if now - at < TOLD_FOR}
        started = []
        for job in sorted(queued, key=lambda j: (j.submitted_at, j.job_id)):
            if len(self._tasks) >= self.slots:
                break
            if job.job_id not in self._tasks and job.job_id not in self._told:
                self._tasks[job.job_id] = asyncio.create_task(self._run(job), name=f"backtest {job.job_id}")
                started.append(job.job_id)
        return started

    async def abandon(self, keep: Callable[[str], bool]) -> None:
        """Stop the jobs not kept (their partition moved: the new owner runs them)."""
        gone = [task for job_id, task in self._tasks.items() if not keep(job_id)]
        for task in gone:
            task.cancel()
        await asyncio.gather(*gone, return_exceptions=True)

    async def close(self) -> None:
        await self.abandon(lambda job_id: False)

    async def _run(self, job: BacktestJob) -> None:
        self.progress[job.job_id] = (0, 0)
        try:
            try:
                report = await self._runner(job, lambda done, total: self._progress(job.job_id, done, total))
            except JobFailed as exc:
                await self._finished(job, None, str(exc))
                self._told[job.job_id] = self._clock()
                return
            await self._finished(job, report, None)
            self._told[job.job_id] = self._clock()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the job stays queued: its owner's next round runs it again
            log.exception("backtest %s: its end could not be told", job.job_id)
        finally:
            self._tasks.pop(job.job_id, None)
            self.progress.pop(job.job_id, None)

    def _progress(self, job_id: str, done: int, total: int) -> None:
        self.progress[job_id] = (done, total)
