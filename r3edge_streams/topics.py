"""Faust topics for the catalogue, and ``publish``: the one way agents and views produce.

In: settings (prefix, partitions, replication) and :mod:`.catalogue`. Out: one faust topic
per catalogue entry. Topics carry raw bytes at the Faust level: keys and values are JSON
written by the records and read back by the strict codec in :mod:`.streams`, so a malformed
message becomes a dead letter instead of crashing an agent. Every topic has the same
partition count, so a keyed table and the stream that writes it are co-partitioned.
Provisioning (:mod:`.provisioning`) has created them before any consumer subscribes.
"""

from __future__ import annotations

from typing import Sequence

import faust

from .application import app, settings
from .catalogue import CATALOGUE, SPECS, TopicSpec
from .models.base import Record
from .models.codec import encode_key


def _declare(spec: TopicSpec) -> faust.TopicT:
    return app.topic(
        settings.topic_name(spec.name),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
        replicas=settings.replication,
        retention=spec.retention,
        internal=True,
    )


TOPICS: dict[str, faust.TopicT] = {spec.name: _declare(spec) for spec in CATALOGUE}
strategycommands = TOPICS["strategycommands"]
workloadcommands = TOPICS["workloadcommands"]
marketdata = TOPICS["marketdata"]
strategiesdata = TOPICS["strategiesdata"]
sessioncommands = TOPICS["sessioncommands"]
sessionsrequest = TOPICS["sessionsrequest"]
signals = TOPICS["signals"]
raworders = TOPICS["raworders"]
orders = TOPICS["orders"]
executions = TOPICS["executions"]
positions = TOPICS["positions"]
notifications = TOPICS["notifications"]
deadletters = TOPICS["deadletters"]


async def publish(topic_name: str, value: Record, key: str | None = None) -> None:
    """Send ``value`` to catalogue topic ``topic_name`` and wait until Kafka has it."""
    await publish_many(topic_name, [value], key=key)


async def publish_many(topic_name: str, values: Sequence[Record], key: str | None = None,
                       confirm: bool = True) -> None:
    """Send ``values`` in order, each under its catalogue key; with ``confirm``, wait for Kafka's acks.

    Inside an agent ``confirm=False`` is enough for at-least-once: Faust flushes the producer
    before it commits the offset of the event being processed.
    """
    spec = SPECS[topic_name]
    topic = TOPICS[topic_name]
    pending = []
    for value in values:
        value_key = key if key is not None else (spec.key_of(value) if spec.key_of else None)
        pending.append(await topic.send(key=encode_key(value_key) if value_key is not None else None,
                                        value=value.dumps()))
    if confirm:
        for future in pending:
            await future

