"""DataCollect's engine: fetch each owned market's new closed candles and publish them once.

In: the active workloads of the partitions this worker owns, exchange clients, and a sink
(publish a candle, dead-letter an invalid one). Out: candles on ``marketdata`` in open-time
order, each (market, open time) once; a status per market for the operator views.

Exactly once without transactions rests on three rules:
- one publisher per market: only the owner of the market's partition collects it;
- the cursor (last published open time) is read back from ``marketdata`` itself whenever this
  worker (re)gains partitions (:meth:`Collector.recover`), so it continues after whatever any
  worker published, including one killed mid-batch;
- a rebalance bumps an epoch under the publish lock: a fetch started before the rebalance can
  no longer publish after it, so the next owner never races a late publish of this one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Awaitable, Callable, Iterable, Protocol

from .domain.candles import Fetched, next_window, select_new, timeframe_delta
from .exchanges.base import ExchangeClient, ExchangeError
from .models import Candle, Workload

log = logging.getLogger(__name__)
MAX_LIMIT = 1000
MAX_PAGES_PER_ROUND = 50


class CandleSink(Protocol):
    """Where candles go: ``publish`` returns once Kafka has every candle, in order."""

    async def publish(self, candles: list[Candle]) -> None: ...

    async def reject(self, rejected: list[tuple[Fetched, str]]) -> None: ...


#: (markets, earliest open time that matters) -> last published open time per market
CursorScan = Callable[[list[str], datetime], Awaitable[dict[str, datetime]]]


@dataclass
class MarketStatus:
    """What the operator views show for one collected market."""

    market: str
    last_open: datetime | None = None
    checked_at: datetime | None = None
    published: int = 0
    rejected: int = 0
    error: str | None = None

    def lag(self, timeframe: str) -> timedelta | None:
        """How far the last published candle's close is behind the last check."""
        if self.last_open is None or self.checked_at is None:
            return None
        return self.checked_at - (self.last_open + timeframe_delta(timeframe))


@dataclass
class Collector:
    """Collects the markets it is given; one instance per worker."""

    exchanges: Callable[[str], ExchangeClient]
    sink: CandleSink
    lookback: int
    cursors: dict[str, datetime] = field(default_factory=dict)
    status: dict[str, MarketStatus] = field(default_factory=dict)
    _recovered: set[str] = field(default_factory=set)
    _epoch: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def on_rebalance(self) -> None:
        """Partitions are moving: stop publishing and forget every cursor (others may publish now)."""
        self._epoch += 1
        async with self._lock:
            self.cursors.clear()
            self._recovered.clear()

    async def recover(self, workloads: Iterable[Workload], scan: CursorScan) -> None:
        """Read back the cursors of markets this worker has not read since it gained them.

        The scan starts where the oldest candle the collector could fetch again would lie:
        ``lookback`` candles before the exchange's now (for a replay, its own past).
        """
        todo: list[Workload] = []
        since: datetime | None = None
        for workload in workloads:
            if workload.market in self._recovered:
                continue
            try:
                now = await self.exchanges(workload.exchange).now()
            except ExchangeError as exc:
                self.status.setdefault(workload.market, MarketStatus(workload.market)).error = str(exc)
                continue
            start = now - timeframe_delta(workload.timeframe) * (self.lookback + 2)
            since = start if since is None else min(since, start)
            todo.append(workload)
        if not todo or since is None:
            return
        found = await scan([w.market for w in todo], since)
        log.info("collector resumes %d markets: %s", len(todo),
                 ", ".join(f"{w.market} after {found.get(w.market, 'nothing')}" for w in todo))
        for workload in todo:
            if workload.market in found:
                self._advance(workload.market, found[workload.market])
            self._recovered.add(workload.market)

    async def collect(self, workloads: Iterable[Workload]) -> None:
        """One round: every active, recovered market is brought up to date (paged backfill)."""
        epoch = self._epoch
        for workload in workloads:
            if workload.active and workload.market in self._recovered and epoch == self._epoch:
                await self._collect_market(workload, epoch)

    async def _collect_market(self, workload: Workload, epoch: int) -> None:
        status = self.status.setdefault(workload.market, MarketStatus(workload.market))
        try:
            client = self.exchanges(workload.exchange)
            for _ in range(MAX_PAGES_PER_ROUND):
                if not await self._page(client, workload, status, epoch):
                    break
            status.error = None
        except ExchangeError as exc:
            status.error = str(exc)
            log.warning("collecting %s failed: %s", workload.market, exc)

    async def _page(self, client: ExchangeClient, workload: Workload, status: MarketStatus, epoch: int) -> bool:
        """Fetch and publish one page; True when another page is worth fetching now."""
        now = await client.now()
        status.checked_at = now
        cursor = self.cursors.get(workload.market)
        window = next_window(cursor, workload.timeframe, now, self.lookback, MAX_LIMIT)
        if window is None:
            return False
        fetched = await client.fetch_candles(workload.symbol, workload.timeframe, window.since, window.limit)
        selection = select_new(fetched, cursor, now)
        async with self._lock:
            if epoch != self._epoch:
                return False
            if selection.invalid:
                await self.sink.reject(selection.invalid)
                status.rejected += len(selection.invalid)
            if selection.publish:
                await self.sink.publish(selection.publish)
                status.published += len(selection.publish)
                status.last_open = selection.publish[-1].open_time
            for candle in [c for c, _ in selection.invalid] + selection.publish:
                self._advance(workload.market, candle.open_time)
        advanced = bool(selection.publish or selection.invalid)
        return advanced and len(fetched) >= window.limit

    def _advance(self, market: str, open_time: datetime) -> None:
        if market not in self.cursors or open_time > self.cursors[market]:
            self.cursors[market] = open_time
