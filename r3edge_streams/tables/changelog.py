"""How every table's changelog topic is configured, so compaction can reclaim space.

In: nothing. Out: ``CHANGELOG_CONFIG``, the extra topic configs each table passes to Faust.
A changelog is compacted (Faust's default), but Kafka compacts only closed segments: with
the default 1 GiB / 7 day segments, a table rewritten on every candle keeps every version
until a segment fills. Smaller, time-bounded segments and a low dirty ratio let the log
cleaner drop superseded values within the hour; tombstones go after a day.
"""

from __future__ import annotations

from typing import Any

CHANGELOG_CONFIG: dict[str, Any] = {
    "cleanup.policy": "compact",
    "segment.bytes": 16 * 1024 * 1024,
    "segment.ms": 15 * 60 * 1000,
    "min.cleanable.dirty.ratio": 0.1,
    "max.compaction.lag.ms": 60 * 60 * 1000,
    "delete.retention.ms": 24 * 60 * 60 * 1000,
}
