"""The strict wire codec: JSON bytes in, a typed record out, or an error naming the bad field.

In: raw Kafka keys and values, REST bodies. Out: records, JSON key bytes, or
:class:`MalformedMessage` (bad JSON, unknown or missing field, wrong type, broken invariant).
Faust's own decoding is lenient (it keeps unknown fields and turns floats into money); every
message that enters an agent or a view goes through :func:`parse_model` instead.
"""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from aiokafka.partitioner import murmur2
from faust.exceptions import ValidationError
from faust.serializers import codecs

from .base import Record

M = TypeVar("M", bound=Record)
_NONE = type(None)


class MalformedMessage(ValueError):
    """The input is not a valid message; ``field`` is the dotted path of the culprit, if any."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}" if field else reason)


def encode_key(key: str) -> bytes:
    """Kafka key bytes: JSON through Faust's own codec, so they equal what tables hash."""
    return bytes(codecs.dumps("json", key))


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2 of its JSON bytes)."""
    return (murmur2(encode_key(key)) & 0x7FFFFFFF) % partitions


def decode_key(raw: bytes | None) -> str | None:
    """The string key of a message, or MalformedMessage if it is not a JSON string."""
    if raw is None:
        return None
    try:
        key = loads_json(raw)
    except MalformedMessage as exc:
        raise MalformedMessage(f"key is not JSON: {exc.reason}", "key") from None
    if not isinstance(key, str):
        raise MalformedMessage("key must be a JSON string", "key")
    return key


#: deepest nesting of arrays and objects any message may have (the deepest record is far shallower)
MAX_DEPTH = 32
#: significant digits (and decimal magnitude) a number may have: far more than any price or quantity
MAX_DIGITS = 28
#: the calendar a message may name: trading happens between these (outside, time arithmetic overflows)
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


def loads_json(raw: bytes | str) -> Any:
    """Parse JSON text, rejecting NaN/Infinity literals, invalid UTF-8 and nesting over MAX_DEPTH."""
    try:
        payload = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise MalformedMessage(f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedMessage(f"invalid JSON: {exc}") from None
    problem = _shape_problem(payload, MAX_DEPTH)
    if problem is not None:
        raise MalformedMessage(f"invalid JSON: {problem}")
    return payload


def _shape_problem(payload: Any, limit: int) -> str | None:
    """Why ``payload`` cannot be a message: arrays/objects nested deeper than ``limit``, or a
    string (value or name) holding a lone surrogate, which is no text (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not _is_text(value):
                return "a string holds a lone surrogate (not Unicode text)"
            continue
        if isinstance(value, dict):
            children: list[Any] = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return f"nested deeper than {MAX_DEPTH} levels"
        stack.extend((child, depth + 1) for child in children)
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed")


def parse_bytes(model: type[M], raw: bytes | None) -> M:
    """Decode one Kafka value into ``model``."""
    if raw is None:
        raise MalformedMessage("empty value (tombstone)")
    return parse_model(model, loads_json(raw))


def parse_model(model: type[M], payload: Any, path: str = "") -> M:
    """Build ``model`` from a JSON-shaped payload, checking every field strictly."""
    if not isinstance(payload, dict):
        raise MalformedMessage(f"must be a JSON object, got {_json_type(payload)}", path or None)
    payload = dict(payload)
    _check_namespace(model, payload.pop("__faust", None), path)
    fields = model._options.fields
    unknown = sorted(set(payload) - set(fields))
    if unknown:
        raise MalformedMessage("unknown field", _join(path, unknown[0]))
    values: dict[str, Any] = {}
    for name, typ in fields.items():
        if name in payload:
            values[name] = _convert(typ, payload[name], _join(path, name))
        elif name not in model._options.defaults:
            raise MalformedMessage("missing required field", _join(path, name))
    try:
        return model(**values)
    except (ValueError, TypeError, ValidationError) as exc:
        raise MalformedMessage(str(exc), path or None) from None


def _check_namespace(model: type[Record], meta: Any, path: str) -> None:
    if meta is None:
        return
    namespace = meta.get("ns") if isinstance(meta, dict) else None
    if namespace != model._options.namespace:
        raise MalformedMessage(f"message type {namespace!r} is not {model.__name__}", _join(path, "__faust"))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _convert(typ: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(typ)
    if origin is typing.Union:
        if value is None and _NONE in typing.get_args(typ):
            return None
        options = [arg for arg in typing.get_args(typ) if arg is not _NONE]
        return _convert(options[0], value, path)
    if typ is Any:
        return value
    if origin in (dict, Mapping):
        return _expect(value, dict, "a JSON object", path)
    if origin is list:
        items = _expect(value, list, "a JSON array", path)
        (item_type,) = typing.get_args(typ) or (Any,)
        return [_convert(item_type, item, f"{path}[{i}]") for i, item in enumerate(items)]
    converter = _SCALARS.get(typ)
    if converter is not None:
        return converter(value, path)
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        return _enum(typ, value, path)
    if isinstance(typ, type) and issubclass(typ, Record):
        return parse_model(typ, value, path)
    raise MalformedMessage(f"unsupported field type {typ!r}", path)


def _expect(value: Any, kind: type, label: str, path: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedMessage(f"must be {label}, got {_json_type(value)}", path)
    return value


def _decimal(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedMessage(f"must be a decimal number or numeric string, got {_json_type(value)}", path)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise MalformedMessage(f"must be a decimal number, got {value!r}", path) from None
    if not number.is_finite():
        raise MalformedMessage(f"must be finite, got {value!r}", path)
    if number and (len(number.as_tuple().digits) > MAX_DIGITS or not -MAX_DIGITS <= number.adjusted() <= MAX_DIGITS):
        raise MalformedMessage(
            f"must have at most {MAX_DIGITS} significant digits and a magnitude between "
            f"1e-{MAX_DIGITS} and 1e{MAX_DIGITS}, got {str(value)[:40]!r}",
            path,
        )
    return number


def parse_time(value: Any, field: str) -> datetime:
    """An ISO 8601 time with its UTC offset, between 1970 and 2200, in UTC, as every message's
    times are read: MalformedMessage naming ``field`` otherwise (views read their times so)."""
    return _datetime(value, field)


def _datetime(value: Any, path: str) -> datetime:
    text = _expect(value, str, "an ISO 8601 timestamp string", path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedMessage(f"must be an ISO 8601 timestamp, got {text!r}", path) from None
    if moment.tzinfo is None:
        raise MalformedMessage(f"must carry a UTC offset (e.g. 'Z'), got {text!r}", path)
    try:
        utc = moment.astimezone(timezone.utc)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise MalformedMessage(f"must lie between {EARLIEST.year} and {LATEST.year}, got {text!r}", path)
    return utc


def _enum(kind: type[enum.Enum], value: Any, path: str) -> enum.Enum:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in kind)
        raise MalformedMessage(f"must be one of {allowed}; got {value!r}", path) from None


_SCALARS: dict[Any, Any] = {
    str: lambda v, p: _expect(v, str, "a string", p),
    int: lambda v, p: _expect(v, int, "an integer", p),
    bool: lambda v, p: _expect(v, bool, "true or false", p),
    Decimal: _decimal,
    datetime: _datetime,
}


def _json_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def to_json(record: Record) -> dict[str, Any]:
    """The JSON-shaped form of a record, as it travels (Decimal as string, time as ISO 8601)."""
    data: dict[str, Any] = loads_json(record.dumps())
    data.pop("__faust", None)
    return _strip_meta(data)


def _strip_meta(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_meta(v) for k, v in value.items() if k != "__faust"}
    if isinstance(value, list):
        return [_strip_meta(v) for v in value]
    return value
