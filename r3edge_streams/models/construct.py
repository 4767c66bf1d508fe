"""A faster ``__init__`` for the records made in Python (not decoded): the same result as Faust's.

In: a concrete Faust record class. Out: its ``__init__``, which for a construction from Python
(``__strict__``, no unknown argument) stores a value as it is when its field's descriptor would
store it unchanged (a ``str`` in a string field, a ``Decimal`` in a decimal field, a
``datetime`` in a datetime field, any value in a plain field, ...), and passes any other value
through the descriptor as Faust's own ``__init__`` does; a decoding (``__strict__=False``) or an
unknown argument goes to Faust's ``__init__`` itself. Faust's setter converts and tags every
value, even one already of its type: most of a record's construction on the hot paths (every
step makes records), which this skips where it changes nothing.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from itertools import repeat
from typing import Any

from faust.models.fields import (
    BooleanField,
    DatetimeField,
    DecimalField,
    FieldDescriptor,
    FloatField,
    IntegerField,
    StringField,
)

#: descriptor class -> the value type its setter stores unchanged (``object``: any value)
_UNCHANGED: dict[type, type] = {
    FieldDescriptor: object,
    StringField: str,
    DecimalField: Decimal,
    DatetimeField: datetime,
    IntegerField: int,
    BooleanField: bool,
    FloatField: float,
}
#: the types whose subclasses' values are stored unchanged too (a str enum in a string field)
_SUBCLASSES_TOO = (str, datetime)


def unchanged_type(descriptor: Any) -> type | None:
    """The type of value ``descriptor``'s setter stores as it is (``object``: any), or None when
    it may change every value (a tagged field, trimmed strings, a descriptor not known here). An
    optional field's setter also stores None as it is."""
    if descriptor.tag or getattr(descriptor, "trim_whitespace", False):
        return None
    return _UNCHANGED.get(type(descriptor))


def already_coerced(descriptor: Any) -> Callable[[Any], bool] | None:
    """For a field Faust coerces on its first read that holds a record, an optional record or a
    list of records: whether a value is already what that coercion would make of it (so the
    field can be marked read); None for any other field."""
    if not descriptor.lazy_coercion or descriptor.tag:
        return None
    typ = descriptor.type
    args = [arg for arg in typing.get_args(typ) if arg is not type(None)]
    if typing.get_origin(typ) is typing.Union and len(args) == 1:
        typ = args[0]
    if _is_record(typ):
        return lambda value: value is None or isinstance(value, typ)
    item = typing.get_args(typ)[0] if typing.get_origin(typ) is list else None
    if item is not None and _is_record(item):
        return lambda value: value.__class__ is list and all(map(isinstance, value, repeat(item)))
    return None


def _is_record(typ: Any) -> bool:
    return isinstance(typ, type) and getattr(typ, "__is_model__", False) and not getattr(typ, "__is_abstract__", True)


def compiled_checks(
    cls: Any, enums: dict[str, type], checked: tuple[str, ...], lazy: frozenset[str], check: Callable[[str, Any], Any]
) -> Callable[[Any], None]:
    """The record's invariants as one function of an instance: each enum field holds its enum,
    and each field of ``checked`` holds what ``check(name, value)`` makes of its value (a finite
    Decimal or UTC time passes at once). A value changed is stored through the field's setter; a
    field of ``lazy`` is read through its descriptor, which coerces it."""
    scope: dict[str, Any] = {"_check_": check, "_Decimal_": Decimal, "_datetime_": datetime, "_utc_": timezone.utc}
    body = ["    __d__ = self.__dict__"]
    for name, kind in enums.items():
        scope[f"_enum_{name}_"] = kind
        read = f"self.{name}" if name in lazy else f"__d__[{name!r}]"
        body.append(f"    v = {read}")
        body.append(f"    if v is not None and not isinstance(v, _enum_{name}_): self.{name} = _enum_{name}_(v)")
    for name in checked:
        read = f"self.{name}" if name in lazy else f"__d__[{name!r}]"
        body.append(f"    v = {read}")
        body.append(
            "    if v is not None and not (v.__class__ is _Decimal_ and v.is_finite()"
            " or v.__class__ is _datetime_ and v.tzinfo is _utc_):"
        )
        body.append(f"        c = _check_({name!r}, v)")
        body.append(f"        if c is not v: self.{name} = c")
    source = "\n".join(["def __checks__(self):", *body, "    return None"])
    checks: Callable[[Any], None] = _compiled(source, "__checks__", scope, f"{cls.__qualname__}.__checks__")
    return checks


def _store(name: str, descriptor: Any, optional: bool, default: Any, scope: dict[str, Any]) -> list[str]:
    """Lines that store local ``name`` in the instance dict ``__d__`` as the field's setter would
    (the optional field's default for None; the value as it is where the setter would not change
    it), marking a field of records read when it already holds records."""
    lines = []
    if optional:
        scope[f"_default_{name}_"] = default
        lines.append(f"if {name} is None: {name} = _default_{name}_")
    kind = unchanged_type(descriptor)
    scope[f"_set_{name}_"] = descriptor.__set__
    scope[f"_type_{name}_"] = kind
    coerced = already_coerced(descriptor)
    if coerced is not None:
        scope[f"_coerced_{name}_"] = coerced
        lines.append(f"if _coerced_{name}_({name}): __d__['__evaluated_fields__'].add({name!r})")
    if kind is object:
        lines.append(f"__d__[{name!r}] = {name}")
    elif kind is not None:
        none = "" if descriptor.required else f" or {name} is None"
        test = f"isinstance({name}, _type_{name}_)" if kind in _SUBCLASSES_TOO else f"{name}.__class__ is _type_{name}_"
        lines.append(f"if {test}{none}: __d__[{name!r}] = {name}")
        lines.append(f"else: _set_{name}_(self, {name})")
    else:
        lines.append(f"_set_{name}_(self, {name})")
    return lines


def _compiled(source: str, name: str, scope: dict[str, Any], where: str) -> Any:
    exec(compile(source, f"<{where}>", "exec"), scope)  # noqa: S102 - generated from field names
    function = scope[name]
    function.__sourcecode__ = source
    return function


def _derived(
    name: str, descriptor: Any, optional: bool, default: Any, enum: type | None, scope: dict[str, Any]
) -> list[str]:
    """Lines that store local ``name`` in ``__d__`` as construction would (coerced, its enum
    restored, ``check``ed)."""
    lines = _store(name, descriptor, optional, default, scope)
    lines.append(f"{name} = __d__[{name!r}]")
    if enum is not None:
        scope[f"_enum_{name}_"] = enum
        lines.append(
            f"if {name} is not None and not isinstance({name}, _enum_{name}_): __d__[{name!r}] = _enum_{name}_({name})"
        )
    else:
        lines.append(
            f"if {name} is not None and not ({name}.__class__ is _Decimal_ and {name}.is_finite()"
            f" or {name}.__class__ is _datetime_ and {name}.tzinfo is _utc_):"
        )
        lines.append(f"    __d__[{name!r}] = _check_({name!r}, {name})")
    return lines


def deriver(
    cls: Any, names: tuple[str, ...], enums: dict[str, type], check: Callable[[str, Any], Any]
) -> Callable[[Any, dict[str, Any]], Any]:
    """For ``derive`` with the fields ``names`` changed: one function of (record, new values) that
    makes a copy of the record and stores each new value as construction would (coerced, its
    enum restored, ``check``ed), leaving the other fields as they are. A field Faust coerces on
    its first read is left read in the copy when the source read it and it is not changed (so a
    long list of records is not coerced anew on every copy). TypeError for an unknown field."""
    options = cls._options
    unknown = sorted(name for name in names if name not in options.descriptors)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)}")
    scope: dict[str, Any] = {"_check_": check, "_Decimal_": Decimal, "_datetime_": datetime, "_utc_": timezone.utc,
                             "_cls_": cls, "_new_": object.__new__, "_changed_": frozenset(names)}  # fmt: skip
    body = ["self = _new_(_cls_)", "__d__ = self.__dict__", "__d__.update(__source__.__dict__)"]
    if _has_lazy_fields(cls):
        body.append("__read__ = __d__.get('__evaluated_fields__')")
        body.append("__d__['__evaluated_fields__'] = __read__ - _changed_ if __read__ else set()")
    for name in names:
        body.append(f"{name} = __fields__[{name!r}]")
        body.extend(
            _derived(name, options.descriptors[name], name in options.optionalset, options.defaults.get(name),
                     enums.get(name), scope)
        )  # fmt: skip
    lines = ["def __derive__(__source__, __fields__):", *(f"    {line}" for line in body), "    return self"]
    built: Callable[[Any, dict[str, Any]], Any] = _compiled(
        "\n".join(lines), "__derive__", scope, f"{cls.__qualname__}.derive.{'.'.join(names)}"
    )
    return built


def _has_lazy_fields(cls: Any) -> bool:
    """Whether Faust coerces any field of ``cls`` on its first read: only those fields' reads use
    the instance's set of fields read (``__evaluated_fields__``), so a record without such fields
    is made without one (a set less per record: less to make and for the GC to track)."""
    return any(descriptor.lazy_coercion for descriptor in cls._options.descriptors.values())


def fast_init(cls: Any) -> Callable[..., None]:
    """``cls.__init__`` as described above; ``cls`` must hold Faust's own in ``_model_init``."""
    options = cls._options
    names = list(options.fieldpos.values())
    optional = options.optionalset
    scope: dict[str, Any] = {"__faust_init__": cls._model_init}
    body: list[str] = []
    for name in names:
        lines = _store(name, options.descriptors[name], name in optional, options.defaults.get(name), scope)
        body.extend(f"    {line}" for line in lines)
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    if options.validation:
        body.append("    self.validate_or_raise()")
    signature = ", ".join(
        ["self"]
        + [name for name in names if name not in optional]
        + [f"{name}=None" for name in names if name in optional]
        + ["*", "__strict__=True", "__faust=None", "**kwargs"]
    )
    passed = ", ".join(["self", *names, "__strict__=__strict__", "__faust=__faust", "**kwargs"])
    source = "\n".join([
        f"def __init__({signature}):",
        "    if not __strict__ or kwargs:",
        f"        return __faust_init__({passed})",
        "    __d__ = self.__dict__",
        *(["    __d__['__evaluated_fields__'] = set()"] if _has_lazy_fields(cls) else []),
        *body,
    ])  # fmt: skip
    init: Callable[..., None] = _compiled(source, "__init__", scope, f"{cls.__qualname__}.__init__")
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init
