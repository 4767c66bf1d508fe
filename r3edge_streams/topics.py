"""Faust topics for the catalogue, and ``publish``: the one way agents and views produce.

In: settings (prefix, partitions, replication) and the catalogue's typed handles
(:mod:`.catalogue`). Out: ``channel(spec)``, the Faust topic of a handle (for ``app.agent``),
``joint_channel(*specs)`` over several (for one agent that consumes them all),
``topic_name(spec)``, its Kafka name,
and ``publish``/``publish_many``, which take a handle and values of its type and seal the
records of the money path's topics (:mod:`.seals`, with ``seal_key``). Topics carry raw
bytes at the Faust level: keys and values are JSON written by the records and read back by the
strict codec in :mod:`.streams`, so a malformed message becomes a dead letter instead of
crashing an agent. Every topic has the same partition count, so a keyed table and the stream
that writes it are co-partitioned. Provisioning (:mod:`.provisioning`) has created them before
any consumer subscribes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

import faust

from .application import app, settings
from .catalogue import CATALOGUE, TopicSpec
from .models.base import Record
from .models.codec import encode_key
from .seals import headers_for, load_key

R = TypeVar("R", bound=Record)


def _declare(spec: TopicSpec[Any]) -> faust.TopicT:
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


_CHANNELS: dict[str, faust.TopicT] = {spec.name: _declare(spec) for spec in CATALOGUE}


def channel(spec: TopicSpec[Any]) -> faust.TopicT:
    """The Faust topic of catalogue entry ``spec`` (one per entry, declared once)."""
    return _CHANNELS[spec.name]


_JOINT: dict[tuple[str, ...], faust.TopicT] = {}


def joint_channel(*specs: TopicSpec[Any]) -> faust.TopicT:
    """One Faust channel over several catalogue topics, for an agent that consumes them all."""
    names = tuple(spec.name for spec in specs)
    joint = _JOINT.get(names)
    if joint is None:
        joint = _JOINT[names] = app.topic(
            *(settings.topic_name(name) for name in names),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
            replicas=settings.replication,
            internal=True,
        )
    return joint


@cache
def seal_key() -> bytes:
    """This deployment's seal key (read once; see :mod:`.seals`)."""
    return load_key(settings.seal_key, settings.seal_key_file)


def topic_name(spec: TopicSpec[Any]) -> str:
    """The Kafka name of ``spec``'s topic (with this deployment's prefix)."""
    return settings.topic_name(spec.name)


async def publish(topic: TopicSpec[R], value: R, key: str | None = None) -> None:
    """Send ``value`` to ``topic`` and wait until Kafka has it."""
    await publish_many(topic, [value], key=key)


async def publish_many(topic: TopicSpec[R], values: Sequence[R], key: str | None = None, confirm: bool = True) -> None:
    """Send ``values`` in order, each under its catalogue key; with ``confirm``, wait for Kafka's acks.

    Inside an agent ``confirm=False`` is enough for at-least-once: Faust flushes the producer
    before it commits the offset of the event being processed.
    """
    target = channel(topic)
    pending = []
    for value in values:
        value_key = key if key is not None else (topic.key_of(value) if topic.key_of else None)
        raw_key, raw_value = encode_key(value_key) if value_key is not None else None, value.dumps()
        headers = headers_for(seal_key(), topic.name, raw_key, raw_value) if topic.sealed else None
        pending.append(await target.send(key=raw_key, value=raw_value, headers=headers))
    if confirm:
        for future in pending:
            await future
