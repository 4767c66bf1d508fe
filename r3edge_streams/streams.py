"""Guarded consumption: raw Kafka events in, one step per valid message, dead letters for the rest.

In: a Faust stream over a catalogue topic (raw bytes) and the agent's step, a coroutine taking
one decoded record. Out: the step run once for every message that passes the strict codec,
travels under its key on the partition that key belongs to, and keeps the topic's domain rules
(``TopicSpec.check``); on the money path's topics it must also carry this deployment's seal
(:mod:`.seals`), so nothing from outside is sized, reserved, placed or booked. Every other
message, and every message whose step raises, goes to ``deadletters`` with the reason, its
original bytes (cut to a bounded size, with the original's size and digest) and its source
position; the stream goes on with the next message, so one message can neither crash nor stall
an agent, and other keys are untouched. A keyed message
found on another partition than its key's is forwarded there (never applied where it landed).
A step that fails because Kafka itself is unavailable (a retriable Kafka error) is retried
with back-off instead: that is no fault of the message.
A dead letter is acknowledged by Kafka before the next message is read, so none is lost.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import Any, TypeVar

from aiokafka.errors import KafkaError
from faust.types import StreamT
from faust.types.tuples import Message

from .application import settings
from .catalogue import DEADLETTERS, TopicSpec
from .domain.candles import Fetched, InvalidCandle
from .models import DeadLetter, MalformedMessage
from .models.base import Record
from .models.codec import partition_of
from .seals import check as check_seal
from .topics import channel, publish, seal_key, topic_name

M = TypeVar("M", bound=Record)
Step = Callable[[M], Awaitable[None]]
log = logging.getLogger(__name__)
MAX_LETTER_VALUE = 16 * 1024  # characters of the original value a dead letter keeps
MAX_LETTER_KEY = 1024
MAX_REASON = 2000
RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)  # seconds between tries of a step Kafka could not take


class Refusal(Exception):
    """A step's verdict that its message cannot apply (an unknown order, a stranger's report):
    the message is dead-lettered with this reason, nothing changes."""


async def consume(stream: StreamT[bytes], spec: TopicSpec[M], step: Step[M]) -> None:
    """Run ``step`` on every valid message of ``stream`` (over ``spec``); dead-letter or forward the rest."""
    async for event in stream.events():
        await _take(event.message, spec, step)


async def consume_each(stream: StreamT[bytes], routes: Sequence[tuple[TopicSpec[Any], Step[Any]]]) -> None:
    """``consume`` over a joint channel (:func:`.topics.joint_channel`): each message by its topic's step.

    One agent over several co-partitioned topics is how one writer keeps state that more than
    one topic moves (a position moved by requests and by fills), each key's events in turn.
    """
    by_topic = {topic_name(spec): (spec, step) for spec, step in routes}
    async for event in stream.events():
        spec, step = by_topic[event.message.topic]
        await _take(event.message, spec, step)


async def _take(message: Message, spec: TopicSpec[M], step: Step[M]) -> None:
    if spec.sealed:
        problem = check_seal(seal_key(), spec.name, message.key, message.value, message.headers)
        if problem is not None:
            await reject(message, problem)
            return
    try:
        key, value = spec.decode(message.key, message.value)
    except MalformedMessage as exc:
        await reject(message, str(exc))
        return
    if key is not None and spec.key_of is not None and _misrouted(message, key):
        await _forward(message, spec, key)
        return
    await _run(step, value, message)


def _misrouted(message: Message, key: str) -> bool:
    return partition_of(key, settings.partitions) != message.partition


async def _forward(message: Message, spec: TopicSpec[M], key: str) -> None:
    """Send a message produced to the wrong partition for its key to the right one (same bytes)."""
    owner = partition_of(key, settings.partitions)
    log.warning(
        "%s[%s]@%s has key %r of partition %s: forwarded there",
        message.topic,
        message.partition,
        message.offset,
        key,
        owner,
    )
    future = await channel(spec).send(
        key=message.key, value=message.value, partition=owner, headers=message.headers
    )  # the same bytes and headers: a seal travels with its record
    await future


async def _run(step: Step[M], value: M, message: Message) -> None:
    """The step, once; retried while Kafka is unavailable, dead-lettered on any other failure."""
    attempt = 0
    while True:
        try:
            await step(value)
            return
        except KafkaError as exc:
            if not exc.retriable:
                await _failed(message, exc)
                return
            delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
            attempt += 1
            log.warning(
                "%s[%s]@%s: Kafka unavailable (%s), retry %d in %.1f s",
                message.topic,
                message.partition,
                message.offset,
                exc,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)  # nothing else can progress either: no fault of the message
        except Refusal as exc:
            await reject(message, f"refused: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - one message's failure must not stop the agent
            await _failed(message, exc)
            return


async def _failed(message: Message, exc: BaseException) -> None:
    log.error("%s[%s]@%s: step failed", message.topic, message.partition, message.offset, exc_info=exc)
    await reject(message, f"processing failed: {type(exc).__name__}: {exc}")


async def reject(message: Message, reason: str) -> None:
    """Dead-letter ``message`` with ``reason`` and wait until Kafka has it."""
    await publish(DEADLETTERS, dead_letter(message, reason), key=message.topic)
    log.warning("dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason[:300])


def dead_letter(message: Message, reason: str) -> DeadLetter:
    """The dead letter of ``message``: its key and value (text, or base64 if binary), cut to a
    bounded size with the original's size and SHA-256 when large."""
    value, encoding = _text(message.value)
    key, _ = _text(message.key)
    raw = message.value or b""
    cut = (value is not None and len(value) > MAX_LETTER_VALUE) or (key is not None and len(key) > MAX_LETTER_KEY)
    return DeadLetter(
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=reason[:MAX_REASON],
        at=_time_of(message),
        key=key[:MAX_LETTER_KEY] if key is not None else None,
        value=value[:MAX_LETTER_VALUE] if value is not None else None,
        value_encoding=encoding,
        value_bytes=len(raw) if message.value is not None else None,
        value_sha256=hashlib.sha256(raw).hexdigest() if cut else None,
        truncated=cut,
    )


def _time_of(message: Message) -> datetime:
    """The record's Kafka time, or now when a producer gave it an impossible one."""
    try:
        return datetime.fromtimestamp(message.timestamp, tz=timezone.utc)
    except (OverflowError, OSError, ValueError, TypeError):
        return datetime.now(timezone.utc)


def _text(raw: bytes | None) -> tuple[str | None, str]:
    if raw is None:
        return None, "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def rejected_candle(candle: Fetched, reason: str) -> DeadLetter:
    """The dead letter of an invalid candle an exchange sent (it never reached a topic)."""
    value = candle.raw if isinstance(candle, InvalidCandle) else candle.dumps().decode()
    return DeadLetter(
        source_topic=f"exchange:{candle.exchange}",
        partition=-1,
        offset=-1,
        reason=reason[:MAX_REASON],
        at=candle.open_time,
        key=candle.market,
        value=value[:MAX_LETTER_VALUE],
        truncated=len(value) > MAX_LETTER_VALUE,
    )
