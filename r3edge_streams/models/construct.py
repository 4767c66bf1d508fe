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
from datetime import datetime
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


def stored_as_is(descriptor: Any, kind: type | None, value: Any) -> bool:
    """Whether ``descriptor``'s setter would store ``value`` unchanged (``kind``: its
    ``unchanged_type``)."""
    if kind is object or (kind is not None and value.__class__ is kind):
        return True
    if kind in _SUBCLASSES_TOO and isinstance(value, kind):
        return True
    return kind is not None and value is None and not descriptor.required


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


def fast_init(cls: Any) -> Callable[..., None]:
    """``cls.__init__`` as described above; ``cls`` must hold Faust's own in ``_model_init``."""
    options = cls._options
    names = list(options.fieldpos.values())
    optional = options.optionalset
    scope: dict[str, Any] = {"__faust_init__": cls._model_init, "__defaults__": options.defaults}
    body: list[str] = []
    for name in names:
        if name in optional:
            scope[f"_default_{name}_"] = options.defaults[name]
            body.append(f"    if {name} is None: {name} = _default_{name}_")
        kind = unchanged_type(options.descriptors[name])
        scope[f"_set_{name}_"] = options.descriptors[name].__set__
        scope[f"_type_{name}_"] = kind
        coerced = already_coerced(options.descriptors[name])
        if coerced is not None:
            scope[f"_coerced_{name}_"] = coerced
            body.append(f"    if _coerced_{name}_({name}): __d__['__evaluated_fields__'].add({name!r})")
        if kind is object:
            body.append(f"    __d__[{name!r}] = {name}")
        elif kind is not None:
            none = "" if options.descriptors[name].required else f" or {name} is None"
            test = (
                f"isinstance({name}, _type_{name}_)"
                if kind in _SUBCLASSES_TOO
                else f"{name}.__class__ is _type_{name}_"
            )
            body.append(f"    if {test}{none}: __d__[{name!r}] = {name}")
            body.append(f"    else: _set_{name}_(self, {name})")
        else:
            body.append(f"    _set_{name}_(self, {name})")
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
        "    __d__['__evaluated_fields__'] = set()",
        *body,
    ])  # fmt: skip
    exec(compile(source, f"<{cls.__qualname__}.__init__>", "exec"), scope)  # noqa: S102 - generated from field names
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__sourcecode__ = source  # type: ignore[attr-defined]
    return init
