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

from .construct import already_coerced, fast_init, stored_as_is, unchanged_type


class Record(faust.Record, abstract=True, serializer="json", coerce=True, validation=True):
    """Base record: restores enums and checks money and time invariants after construction."""

    _enum_fields: ClassVar[dict[str, type[enum.Enum]]]
    _checked_fields: ClassVar[tuple[str, ...]]
    _unchanged_types: ClassVar[dict[str, type | None]]
    _lazy_fields: ClassVar[frozenset[str]]
    _coerced_checks: ClassVar[dict[str, Callable[[Any], bool]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__is_abstract__ and cls.__init__ is cls.__dict__.get("_model_init"):
            cls.__init__ = fast_init(cls)  # type: ignore[method-assign]

    def __post_init__(self) -> None:
        values = self.__dict__
        cls = type(self)
        lazy = _lazy_fields(cls)  # read through the descriptor, which coerces them now
        for name, kind in _enum_fields(cls).items():
            value = getattr(self, name) if name in lazy else values[name]
            if value is not None and not isinstance(value, kind):
                setattr(self, name, kind(value))
        for name in _checked_fields(cls):
            value = getattr(self, name) if name in lazy else values[name]
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
        cls = type(self)
        options = cls._options
        enums = _enum_fields(cls)
        descriptors = options.descriptors
        kinds = _unchanged_types(cls)
        lazy = _coerced_checks(cls)
        for name, value in fields.items():
            if value is None and name in options.optionalset:
                value = options.defaults[name]  # as construction takes None
            if stored_as_is(descriptors[name], kinds[name], value):
                current = value
            else:
                setattr(copy, name, value)  # the field's descriptor coerces it, as construction does
                current = copy.__dict__[name]
            if name in lazy and lazy[name](current):
                copy.__dict__["__evaluated_fields__"].add(name)  # already what its first read makes
            kind = enums.get(name)
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


def _lazy_fields(cls: type[Record]) -> frozenset[str]:
    """The fields Faust coerces on their first read (of records or generic types)."""
    cached = cls.__dict__.get("_lazy_fields")
    if cached is None:
        cached = frozenset(name for name, d in cls._options.descriptors.items() if d.lazy_coercion)
        cls._lazy_fields = cached
    return cached


def _coerced_checks(cls: type[Record]) -> dict[str, Callable[[Any], bool]]:
    """Each record-holding field's ``already_coerced`` check."""
    cached = cls.__dict__.get("_coerced_checks")
    if cached is None:
        checks = {name: already_coerced(d) for name, d in cls._options.descriptors.items()}
        cached = {name: check for name, check in checks.items() if check is not None}
        cls._coerced_checks = cached
    return cached


def _unchanged_types(cls: type[Record]) -> dict[str, type | None]:
    """Each field's ``unchanged_type`` (what its setter stores as it is)."""
    cached = cls.__dict__.get("_unchanged_types")
    if cached is None:
        cached = {name: unchanged_type(d) for name, d in cls._options.descriptors.items()}
        cls._unchanged_types = cached
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
