"""What earlier owners of a ``strategiesdata`` partition signalled: read back once per assignment.

In: a scan of ``signals`` (co-partitioned with ``strategiesdata``: same key, same partition
count) and, for each candle the strategy agent is about to signal, the partition and Kafka
timestamp of the candle's record. Out: whether that candle's signal is already on ``signals``.

Why: the strategy agent sends its effects before it writes its window, so a worker killed in
between leaves a signal on Kafka whose window write was lost; the new owner gets the candle
again. Any such signal was produced after the oldest uncommitted candle record was, so one
scan per partition, from that record's time (less a clock-skew margin), finds them all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

Scan = Callable[[int, datetime], Awaitable[dict[str, datetime]]]
SKEW_MARGIN = timedelta(minutes=5)


class SignalMemory:
    """Per partition: each instance's last signalled candle, as found on ``signals``."""

    def __init__(self, scan: Scan, margin: timedelta = SKEW_MARGIN) -> None:
        self._scan = scan
        self._margin = margin
        self._recalled: dict[int, dict[str, datetime]] = {}

    def forget(self) -> None:
        """Partitions move: read again before the next signal of any partition."""
        self._recalled.clear()

    async def signalled(self, partition: int, produced_at: datetime, strategy_id: str, candle_time: datetime) -> bool:
        """Whether ``signals`` already holds instance ``strategy_id``'s signal for ``candle_time``.

        ``produced_at``: the Kafka time of the first candle record this worker reads from
        ``partition`` since it got it (later calls may pass later times; the first one counts).
        """
        if partition not in self._recalled:
            self._recalled[partition] = await self._scan(partition, produced_at - self._margin)
        last = self._recalled[partition].get(strategy_id)
        return last is not None and candle_time <= last
