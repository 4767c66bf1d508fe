"""The base of every message: a JSON faust.Record that keeps Decimal, UTC time and enums exact.

In: field values (Python objects, or JSON-shaped values through :mod:`.codec`).
Out: records whose Decimal fields are finite, datetimes timezone-aware UTC, enums real enums.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, ClassVar

import faust

from .construct import compiled_checks, deriver, fast_init


class Record(faust.Record, abstract=True, serializer="json", coerce=True, validation=True):
    """Base record: restores enums and checks money and time invariants after construction."""

    _enum_fields: ClassVar[dict[str, type[enum.Enum]]]
    _checked_fields: ClassVar[tuple[str, ...]]
    _lazy_fields: ClassVar[frozenset[str]]
    _compiled_checks: ClassVar[Callable[[Record], None]]
    _derivers: ClassVar[dict[tuple[str, ...], Callable[[Record, dict[str, Any]], Record]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__is_abstract__ and cls.__init__ is cls.__dict__.get("_model_init"):
            cls.__init__ = fast_init(cls)  # type: ignore[method-assign]

    def __post_init__(self) -> None:
        _checks(type(self))(self)

    def derive(self, *objects: faust.Record, **fields: Any) -> Any:
        """A copy with ``fields`` changed: only they are coerced and checked again (the rest were
        when this record was made), which keeps deriving cheap on the hot paths."""
        if objects:
            return super().derive(*objects, **fields)
        cls = type(self)
        derivers = cls.__dict__.get("_derivers")
        if derivers is None:
            derivers = cls._derivers = {}
        names = tuple(fields)
        build = derivers.get(names)
        if build is None:
            build = derivers[names] = deriver(cls, names, _enum_fields(cls), _checked)
        return build(self, fields)


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


def _checks(cls: type[Record]) -> Callable[[Record], None]:
    """The record's invariants (enums restored, money finite, time UTC), compiled once."""
    cached = cls.__dict__.get("_compiled_checks")
    if cached is None:
        cached = compiled_checks(cls, _enum_fields(cls), _checked_fields(cls), _lazy_fields(cls), _checked)
        cls._compiled_checks = cached
    return cached


def _lazy_fields(cls: type[Record]) -> frozenset[str]:
    """The fields Faust coerces on their first read (of records or generic types)."""
    cached = cls.__dict__.get("_lazy_fields")
    if cached is None:
        cached = frozenset(name for name, d in cls._options.descriptors.items() if d.lazy_coercion)
        cls._lazy_fields = cached
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
    kind = value.__class__
    if kind is Decimal and value.is_finite() or kind is datetime and value.tzinfo is timezone.utc:
        return value  # the common cases, at once
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{name}: must be a finite number, got {value}")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name}: must be timezone-aware, got {value.isoformat()}")
        if value.tzinfo is not timezone.utc:
            return value.astimezone(timezone.utc)
    return value
