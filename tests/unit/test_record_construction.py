"""The records' fast ``__init__`` and ``derive`` make what Faust's own ``__init__`` makes.

For every concrete record of the project, each field in turn takes values of every kind (its
type, values Faust converts, None, values it refuses, values the invariants refuse), the rest a
valid sample built from the annotations; the record built by the fast ``__init__`` must equal,
value for value and type for type, the one Faust's generated ``__init__`` (kept as
``_model_init``) builds, or both must raise the same error. A derived copy changing that field
must equal the constructed record too.
"""

from __future__ import annotations

import enum
import typing
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from faust.models.fields import BooleanField, DatetimeField, DecimalField, IntegerField, StringField

import r3edge_streams.models  # noqa: F401 - registers the records
import r3edge_streams.strategies.base  # noqa: F401
from r3edge_streams.models.base import Record

T0 = datetime(2021, 3, 4, 5, 6, tzinfo=timezone.utc)
PLUS_TWO = timezone(timedelta(hours=2))


class _Exact(Decimal):
    """A Decimal subclass: Faust's decimal field makes a plain Decimal of it."""


class _Label(str):
    """A str subclass: Faust's string field keeps it as it is."""


#: values tried in a field, by its descriptor's class (None: also in every field)
TRIED: dict[type, list[Any]] = {
    StringField: ["abc", " padded ", 12, Decimal("1.5"), _Label("label")],
    DecimalField: [Decimal("1.50"), _Exact("4.5"), 3, "2.25", 1.5, Decimal("NaN"), Decimal("-Infinity"), "x", True],
    DatetimeField: [T0, T0.astimezone(PLUS_TWO), "2021-03-04T05:06:00+00:00", datetime(2021, 3, 4), "soon", 7],
    IntegerField: [7, "8", True, 2.0, "x"],
    BooleanField: [True, False, 0, 1, "x"],
}


def _records() -> list[type[Record]]:
    found: set[type[Record]] = set()
    pending: list[type] = [Record]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if not sub.__is_abstract__:
                found.add(sub)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _sample(typ: Any, depth: int = 0) -> Any:
    """A valid-looking value of annotation ``typ``."""
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin is typing.Union:
        return _sample(next(a for a in args if a is not type(None)), depth)
    if origin in (list, tuple, set, frozenset):
        return origin([_sample(args[0], depth + 1)]) if args and depth < 2 else origin()
    if origin is dict:
        return {"k": _sample(args[1], depth + 1)} if args and depth < 2 else {}
    if isinstance(typ, type):
        if issubclass(typ, enum.Enum):
            return next(iter(typ))
        if issubclass(typ, Record):
            return _build(typ, depth + 1)
        simple = {str: "s", bool: True, int: 1, float: 1.0, Decimal: Decimal("0.5"), datetime: T0}
        for kind, value in simple.items():
            if issubclass(typ, kind):
                return value
    return "any"


def _build(cls: type[Record], depth: int = 0) -> Record | None:
    try:
        return cls(**_valid(cls, depth))
    except (TypeError, ValueError):
        return None


def _valid(cls: type[Record], depth: int = 0) -> dict[str, Any]:
    return {name: _sample(typ, depth) for name, typ in cls._options.fields.items()}


def _faust(cls: type[Record], kwargs: dict[str, Any]) -> Record:
    record = object.__new__(cls)
    cls._model_init(record, **kwargs)
    return record


def _outcome(make: Any, cls: type[Record], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    try:
        record = make(cls, kwargs)
    except Exception as exc:  # noqa: BLE001 - the errors are compared
        return ("error", type(exc), str(exc))
    return ("made", _seen(record))


def _seen(record: Record) -> dict[str, tuple[type, Any]]:
    """Each field's value and type, read through its descriptor (as any reader does)."""
    return {name: (type(getattr(record, name)), getattr(record, name)) for name in record._options.fields}


def _as_data(value: Any) -> list[Any]:
    """A record, or a list of them, as decoded data would give them (all, and only the first)."""
    if isinstance(value, Record):
        return [value.asdict()]
    if isinstance(value, list) and value and all(isinstance(item, Record) for item in value):
        return [[item.asdict() for item in value], [value[0].asdict(), *value], [*value, "x"]]
    return []


def _cases() -> list[Any]:
    cases = []
    for cls in _records():
        valid = _valid(cls)
        for name, descriptor in cls._options.descriptors.items():
            tried = [*TRIED.get(type(descriptor), []), *_as_data(valid[name]), None]
            cases.append(pytest.param(cls, name, tried, id=f"{cls.__name__}.{name}"))
    return cases


def test_every_record_of_the_project_is_covered_and_most_have_a_valid_sample() -> None:
    records = _records()
    assert len(records) >= 30
    built = [cls for cls in records if _build(cls) is not None]
    assert len(built) >= len(records) * 3 // 4, sorted(set(records) - set(built), key=str)
    assert all(cls.__init__ is not cls._model_init for cls in records)  # the fast one is in place


@pytest.mark.parametrize(("cls", "name", "tried"), _cases())
def test_the_fast_init_and_derive_make_what_faust_makes(cls: type[Record], name: str, tried: list[Any]) -> None:
    base = _valid(cls)
    for value in [base[name], *tried]:
        kwargs = {**base, name: value}
        fast = _outcome(lambda c, k: c(**k), cls, kwargs)
        assert fast == _outcome(_faust, cls, kwargs), (name, value)
        source = _build(cls)
        if fast[0] == "made" and source is not None:
            derived = _outcome(lambda c, k: source.derive(**{name: k[name]}), cls, kwargs)
            assert derived == fast, (name, value)
