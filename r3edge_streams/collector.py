"""DataCollect's engine: fetch each owned market's new closed candles and publish them once.

In: the active workloads of the partitions this worker owns, exchange clients, a scan that
reads cursors back from ``marketdata``, and a sink (publish a candle, dead-letter an invalid
one). Out: candles on ``marketdata`` in open-time order, each (market, open time) once; a
status per market (last candle, counts, last error and when) for the operator views.

Exactly once without transactions rests on three rules:
- one publisher per market: only the owner of the market's partition collects it;
- the cursor (last published open time) is read back from ``marketdata`` itself whenever this
  worker (re)gains partitions (:meth:`Collector.recover`), so it continues after whatever any
  worker published, including one killed mid-batch;
- a rebalance bumps an epoch under the publish lock: a fetch started before the rebalance can
  no longer publish after it, so the next owner never races a late publish of this one.

One market never holds up another: the markets of a round run concurrently, each in its own
task with a deadline (``round_timeout``); requests to one exchange are bounded
(``concurrency``); any failure, a timeout or a failed read-back is that market's error only.
A publish once begun is finished even when its market is abandoned, so the cursor always
equals what reached Kafka; a publish that fails makes the cursor be read back again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

from .domain.candles import Fetched, Selection, next_window, select_new, timeframe_delta
from .domain.markets import TIMEFRAMES
from .exchanges.errors import ExchangeError, UnknownMarket
from .exchanges.market_data import MarketData
from .models import Candle, Workload

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_LIMIT = 1000
MAX_PAGES_PER_ROUND = 50


class CandleSink(Protocol):
    """Where candles go: ``publish`` returns once Kafka has every candle, in order."""

    async def publish(self, candles: list[Candle]) -> None: ...

    async def reject(self, rejected: list[tuple[Fetched, str]]) -> None: ...


#: (markets of one partition, earliest open time that matters) -> last published open time per market
CursorScan = Callable[[list[str], datetime], Awaitable[dict[str, datetime]]]


class ReadBackFailed(Exception):
    """The cursors of a partition could not be read back from the log this round."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _one_partition(market: str) -> int:
    return 0


@dataclass
class MarketStatus:
    """What the operator views show for one collected market."""

    market: str
    last_open: datetime | None = None
    checked_at: datetime | None = None
    published: int = 0
    rejected: int = 0
    error: str | None = None
    error_at: datetime | None = None  # wall clock (UTC) of the last error

    def lag(self, timeframe: str) -> timedelta | None:
        """How far the last published candle's close is behind the last check."""
        if self.last_open is None or self.checked_at is None or timeframe not in TIMEFRAMES:
            return None
        return self.checked_at - (self.last_open + timeframe_delta(timeframe))


@dataclass
class Collector:
    """Collects the markets it is given; one instance per worker.

    ``concurrency``: requests in flight per exchange; ``round_timeout``: seconds a market may
    take in one round; ``patience``: seconds a round waits for its markets before it returns
    and leaves the slower ones to finish (or time out) in the background (default and at most
    ``round_timeout``); ``partition_of``: the partition of a market (read-backs go by partition).
    """

    exchanges: Callable[[str], MarketData]
    sink: CandleSink
    lookback: int
    concurrency: int = 4
    round_timeout: float = 30.0
    patience: float | None = None
    partition_of: Callable[[str], int] = _one_partition
    wall_clock: Callable[[], datetime] = _utc_now
    cursors: dict[str, datetime] = field(default_factory=dict)
    status: dict[str, MarketStatus] = field(default_factory=dict)
    _recovered: set[str] = field(default_factory=set)
    _epoch: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _gates: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    async def on_rebalance(self) -> None:
        """Partitions are moving: stop publishing and forget every cursor (others may publish now)."""
        self._epoch += 1
        self.stop()
        async with self._lock:
            self.cursors.clear()
            self._recovered.clear()

    def stop(self) -> None:
        """Abandon every market's work now (a publish under way still finishes)."""
        for task in self._tasks.values():
            task.cancel()

    async def recover(self, workloads: Iterable[Workload], scan: CursorScan) -> None:
        """Read back the cursors of markets this worker has not read since it gained them.

        Concurrently and each within the round timeout; a market whose exchange or read-back
        fails stays unrecovered (its error shown) and is tried again next round. A found
        cursor's close is told to the exchange (:meth:`MarketData.observe`).
        """
        await self._round(list(workloads), scan, collect=False)

    async def collect(self, workloads: Iterable[Workload], scan: CursorScan | None = None) -> None:
        """One round: every active market brought up to date (paged backfill), concurrently.

        A market not yet recovered is recovered first with ``scan`` (without one it waits for
        :meth:`recover`). A market still busy from an earlier round is left alone.
        """
        await self._round(list(workloads), scan, collect=True)

    async def _round(self, workloads: list[Workload], scan: CursorScan | None, collect: bool) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.round_timeout
        self._tasks = {market: task for market, task in self._tasks.items() if not task.done()}
        due = self._due(workloads, scan is not None, collect)
        readback = self._readback(scan, [w for w in due if w.market not in self._recovered], deadline)
        epoch = self._epoch
        started = {
            w.market: asyncio.create_task(self._market_round(w, epoch, readback, collect, deadline)) for w in due
        }
        self._tasks.update(started)
        if started:
            await self._wait(started, deadline)

    async def _wait(self, started: dict[str, asyncio.Task[None]], deadline: float) -> None:
        """Wait for a round's markets (at most ``patience``); abandon those past the deadline."""
        loop = asyncio.get_running_loop()
        patience = min(self.patience if self.patience is not None else self.round_timeout, self.round_timeout)
        try:
            await asyncio.wait(started.values(), timeout=patience)
        except asyncio.CancelledError:  # the timer itself is stopping
            self.stop()
            raise
        overdue = [(market, task) for market, task in started.items() if not task.done()]
        if overdue and loop.time() >= deadline:
            for market, task in overdue:
                task.cancel()
                self._failed(self._status(market), self._timed_out())
            await asyncio.sleep(0)  # deliver the cancellations: an abandoned market is free for the next round

    def _due(self, workloads: list[Workload], can_recover: bool, collect: bool) -> list[Workload]:
        """The active markets this round works on, each once, none still busy."""
        due: dict[str, Workload] = {}
        for workload in workloads:
            market = workload.market
            if not workload.active or market in due or market in self._tasks:
                continue
            if (market in self._recovered and collect) or (market not in self._recovered and can_recover):
                due[market] = workload
        return list(due.values())

    def _readback(self, scan: CursorScan | None, todo: list[Workload], deadline: float) -> ReadBack | None:
        if scan is None or not todo:
            return None
        by_partition: dict[int, list[str]] = {}
        for workload in todo:
            by_partition.setdefault(self.partition_of(workload.market), []).append(workload.market)
        return ReadBack(scan, self.partition_of, by_partition, deadline)

    async def _market_round(
        self, workload: Workload, epoch: int, readback: ReadBack | None, collect: bool, deadline: float
    ) -> None:
        """Recover (if it needs to be) and collect one market; any failure becomes its error."""
        status = self._status(workload.market)
        limit = asyncio.timeout_at(deadline)
        try:
            async with limit:
                if workload.market not in self._recovered:
                    if readback is None or not await self._recover_market(workload, epoch, readback):
                        return
                if collect:
                    await self._collect_market(workload, epoch, status)
        except Exception as exc:  # noqa: BLE001 - whatever breaks one market is that market's error only
            self._failed(status, self._timed_out() if limit.expired() else _describe(exc))
            return
        status.error = status.error_at = None

    async def _recover_market(self, workload: Workload, epoch: int, readback: ReadBack) -> bool:
        """Read the market's cursor back; True when it is recovered (its epoch still current).

        The scan starts where the oldest candle the collector could fetch again would lie:
        ``lookback`` candles before the exchange's now (for a replay, its own past).
        """
        delta = _timeframe_delta(workload)
        client = self.exchanges(workload.exchange)
        now = await self._request(workload.exchange, client.now)
        cursor = await readback.cursor(workload.market, now - delta * (self.lookback + 2))
        if cursor is not None:
            await client.observe(cursor + delta)
        if epoch != self._epoch:
            return False
        if cursor is not None:
            self._advance(workload.market, cursor)
        self._recovered.add(workload.market)
        log.info("collector resumes %s after %s", workload.market, cursor.isoformat() if cursor else "nothing")
        return True

    async def _collect_market(self, workload: Workload, epoch: int, status: MarketStatus) -> None:
        _timeframe_delta(workload)  # a timeframe the engine does not know fails before any request
        client = self.exchanges(workload.exchange)
        for _ in range(MAX_PAGES_PER_ROUND):
            if epoch != self._epoch or not await self._page(client, workload, status, epoch):
                break

    async def _page(self, client: MarketData, workload: Workload, status: MarketStatus, epoch: int) -> bool:
        """Fetch and publish one page; True when another page is worth fetching now."""
        now = await self._request(workload.exchange, client.now)
        status.checked_at = now
        cursor = self.cursors.get(workload.market)
        window = next_window(cursor, workload.timeframe, now, self.lookback, MAX_LIMIT)
        if window is None:
            return False
        fetched = await self._request(
            workload.exchange,
            lambda: client.fetch_candles(workload.symbol, workload.timeframe, window.since, window.limit),
        )
        selection = select_new(fetched, cursor, now)
        if not (selection.publish or selection.invalid):
            return False
        committed = await _finished(self._commit(workload.market, status, epoch, selection))
        return committed and len(fetched) >= window.limit

    async def _commit(self, market: str, status: MarketStatus, epoch: int, selection: Selection) -> bool:
        """Publish a selection and advance the cursor, unless the epoch changed; False then."""
        async with self._lock:
            if epoch != self._epoch:
                return False
            try:
                if selection.invalid:
                    await self.sink.reject(selection.invalid)
                    status.rejected += len(selection.invalid)
                if selection.publish:
                    await self.sink.publish(selection.publish)
                    status.published += len(selection.publish)
                    status.last_open = selection.publish[-1].open_time
            except BaseException:
                self._forget(market)  # some candles may be on Kafka: read the cursor back before going on
                raise
            for candle in [c for c, _ in selection.invalid] + selection.publish:
                self._advance(market, candle.open_time)
        return True

    async def _request(self, exchange_id: str, call: Callable[[], Awaitable[T]]) -> T:
        """One request to an exchange, waiting for one of its ``concurrency`` slots."""
        gate = self._gates.get(exchange_id)
        if gate is None:
            gate = self._gates[exchange_id] = asyncio.Semaphore(self.concurrency)
        async with gate:
            return await call()

    def _status(self, market: str) -> MarketStatus:
        return self.status.setdefault(market, MarketStatus(market))

    def _failed(self, status: MarketStatus, error: str) -> None:
        if error != status.error:
            log.warning("collecting %s failed: %s", status.market, error)
        status.error = error
        status.error_at = self.wall_clock()

    def _timed_out(self) -> str:
        return f"timed out after {self.round_timeout:g} s"

    def _advance(self, market: str, open_time: datetime) -> None:
        if market not in self.cursors or open_time > self.cursors[market]:
            self.cursors[market] = open_time

    def _forget(self, market: str) -> None:
        self.cursors.pop(market, None)
        self._recovered.discard(market)


@dataclass
class ReadBack:
    """One round's read-backs of cursors: one scan per partition, shared by its markets.

    A market asking from an earlier time than a scan under way starts another scan; a scan
    that fails fails every market that waits for it (only that partition's).
    """

    scan: CursorScan
    partition_of: Callable[[str], int]
    markets: dict[int, list[str]]  # the markets of each partition to read back
    deadline: float  # loop time by which a scan is given up
    _scans: dict[int, list[tuple[datetime, asyncio.Task[dict[str, datetime]]]]] = field(default_factory=dict)

    async def cursor(self, market: str, since: datetime) -> datetime | None:
        """The market's last published open time (None: nothing published since ``since``)."""
        partition = self.partition_of(market)
        scans = self._scans.setdefault(partition, [])
        task = next((task for start, task in scans if start <= since), None)
        if task is None:
            task = asyncio.create_task(self._scan(partition, since))
            task.add_done_callback(_retrieve)
            scans.append((since, task))
        found = await asyncio.shield(task)
        return found.get(market)

    async def _scan(self, partition: int, since: datetime) -> dict[str, datetime]:
        limit = asyncio.timeout_at(self.deadline)
        try:
            async with limit:
                return await self.scan(self.markets[partition], since)
        except Exception as exc:  # noqa: BLE001 - a scan that breaks fails its own partition only
            what = "timed out" if limit.expired() else f"failed: {_describe(exc)}"
            raise ReadBackFailed(f"reading the cursors of partition {partition} back {what}") from exc


def _timeframe_delta(workload: Workload) -> timedelta:
    """The market's candle length; UnknownMarket for a timeframe the engine does not know."""
    if workload.timeframe not in TIMEFRAMES:
        raise UnknownMarket(f"unknown timeframe {workload.timeframe!r}")
    return timeframe_delta(workload.timeframe)


def _describe(exc: BaseException) -> str:
    """An error as the operator views show it (the project's own errors carry their message)."""
    if isinstance(exc, (ExchangeError, ReadBackFailed)):
        return str(exc)[:500]
    return f"{type(exc).__name__}: {exc}"[:500]


async def _finished(work: Coroutine[Any, Any, T]) -> T:
    """Await ``work`` so that cancelling the caller does not interrupt it: a publish once begun
    ends (and its cursor advances) before the caller's cancellation goes on."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            task.add_done_callback(_retrieve)
            await asyncio.wait([task])
        raise


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a background task's outcome as seen (its waiters, if any, got it already)."""
    if not task.cancelled():
        task.exception()
