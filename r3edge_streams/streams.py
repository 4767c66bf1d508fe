"""Typed consumption with dead letters: raw Kafka events in, (key, record) pairs out.

In: a Faust stream over a catalogue topic (raw bytes). Out: the messages that pass the strict
codec and travel under the right key; every other message goes to ``deadletters`` with the
reason, its original bytes and its source position, and the stream goes on.
A dead letter is acknowledged by Kafka before the next message is read, so none is lost.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone
from typing import AsyncIterator, TypeVar

from faust.types import StreamT
from faust.types.tuples import Message

from .domain.candles import Fetched, InvalidCandle
from .models import DeadLetter, MalformedMessage, decode_key, parse_bytes
from .models.base import Record
from .catalogue import SPECS
from .topics import publish

M = TypeVar("M", bound=Record)
log = logging.getLogger(__name__)


async def accepted(stream: StreamT[bytes], topic_name: str, model: type[M]) -> AsyncIterator[tuple[str | None, M]]:
    """Yield every valid message of ``stream``; dead-letter the rest."""
    spec = SPECS[topic_name]
    async for event in stream.events():
        message = event.message
        try:
            key = decode_key(message.key)
            value = parse_bytes(model, message.value)
            if spec.key_of is not None and key != spec.key_of(value):
                raise MalformedMessage(f"key {key!r} does not match the value's key {spec.key_of(value)!r}", "key")
        except MalformedMessage as exc:
            await publish("deadletters", dead_letter(message, str(exc)), key=message.topic)
            log.warning("dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, exc)
            continue
        yield key, value


def dead_letter(message: Message, reason: str) -> DeadLetter:
    """The dead letter of ``message``: untouched key and value (text, or base64 if binary)."""
    value, encoding = _text(message.value)
    key, _ = _text(message.key)
    return DeadLetter(
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        reason=reason,
        at=datetime.fromtimestamp(message.timestamp, tz=timezone.utc),
        key=key,
        value=value,
        value_encoding=encoding,
    )


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
        reason=reason,
        at=candle.open_time,
        key=candle.market,
        value=value,
    )
