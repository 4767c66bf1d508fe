"""The base of every message: a JSON faust.Record that keeps Decimal, UTC time and enums exact.

In: field values (Python objects, or JSON-shaped values through :mod:`.codec`).
Out: records whose Decimal fields are finite, datetimes timezone-aware UTC, enums real enums.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, ClassVar

import faust


class Record(faust.Record, abstract=True, serializer="json", coerce=True, validation=True):
    """Base record: restores enums and checks money and time invariants after construction."""

    _enum_fields: ClassVar[dict[str, type[enum.Enum]]]
    _checked_fields: ClassVar[tuple[str, ...]]

    def __post_init__(self) -> None:
        for name, kind in _enum_fields(type(self)).items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                setattr(self, name, kind(value))
        for name in _checked_fields(type(self)):
            value = getattr(self, name)
            checked = _checked(name, value)
            if checked is not value:
                setattr(self, name, checked)

    def derive(self, *objects: faust.Record, **fields: Any) -> Any:
        """A copy with ``fields`` changed: only they are coerced and checked again (the rest were
        when this record was made), which keeps deriving cheap on the hot paths."""
        if objects:
            return super().derive(*objects, **fields)
        unknown = set(fields) - set(self._options.fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        # Faust coerces a field of records or generic type lazily, on its first read: a field the
        # source read already holds its coerced value, so the copy need not coerce it again (a
        # long list of records would be coerced anew on every copy); a changed field is, when read.
        evaluated = self.__dict__.get("__evaluated_fields__") or set()
        copy.__dict__["__evaluated_fields__"] = evaluated - fields.keys()
        enums = _enum_fields(type(self))
        for name, value in fields.items():
            setattr(copy, name, value)  # the field's descriptor coerces it, as construction does
            kind = enums.get(name)
            current = copy.__dict__[name]
            if kind is not None and current is not None and not isinstance(current, kind):
                copy.__dict__[name] = kind(current)
            else:
                copy.__dict__[name] = _checked(name, current)
        return copy


def _checked_fields(cls: type[Record]) -> tuple[str, ...]:
    """The fields whose values may be a Decimal or a datetime (the ones ``_checked`` looks at)."""
    cached = cls.__dict__.get("_checked_fields")
    if cached is None:
        cached = tuple(
            name
            for name, typ in cls._options.fields.items()
            if _unwrap_optional(typ) in (Decimal, datetime, Any) or not isinstance(_unwrap_optional(typ), type)
        )
        cls._checked_fields = cached
    return cached


def _enum_fields(cls: type[Record]) -> dict[str, type[enum.Enum]]:
    cached = cls.__dict__.get("_enum_fields")
    if cached is None:
        cached = {}
        for name, typ in cls._options.fields.items():
            kind = _unwrap_optional(typ)
            if isinstance(kind, type) and issubclass(kind, enum.Enum):
                cached[name] = kind
        cls._enum_fields = cached
    return cached


def _unwrap_optional(typ: Any) -> Any:
    args = [arg for arg in getattr(typ, "__args__", ()) if arg is not type(None)]
    if getattr(typ, "__origin__", None) is not None and len(args) == 1 and type(None) in typ.__args__:
        return args[0]
    return typ


def _checked(name: str, value: Any) -> Any:
    """The value itself, or its UTC form; ValueError for NaN/inf or a naive datetime."""
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{name}: must be a finite number, got {value}")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name}: must be timezone-aware, got {value.isoformat()}")
        if value.tzinfo is not timezone.utc:
            return value.astimezone(timezone.utc)
    return value
