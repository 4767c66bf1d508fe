"""Frozen value classes for the pure core: a dataclass made frozen, with a faster ``__init__``.

In: a class with annotated fields, as for ``dataclass``. Out: the frozen dataclass of it, whose
``__init__`` stores the fields straight into the instance's dict. A frozen dataclass's own
``__init__`` goes through ``object.__setattr__`` field by field (its ``__setattr__`` refuses),
which is most of the cost of making one, and the steps make some twenty such values per order.
What the instance holds, its equality, hash, repr, ``replace`` and its refusal of any later
assignment are the dataclass's own. A class this ``__init__`` cannot serve as the dataclass's
would (fields kept out of ``__init__``, keyword-only fields or ``InitVar``, slots) keeps the
dataclass's ``__init__``. ``replace`` is ``dataclasses.replace`` for them, made the same way:
the instance's dict copied, the changed fields stored, ``__post_init__`` run.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")
_NO_VALUE = object()  # the default of a field whose default is a factory: calls it
_FAST = "__value_fields__"  # the class attribute of a value class made fast: its fields' names


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def value(cls: type[T]) -> type[T]:
    """``cls`` as a frozen dataclass with the ``__init__`` described above."""
    made = dataclasses.dataclass(frozen=True)(cls)
    init = _fast_init(made)
    if init is not None:
        made.__init__ = init  # type: ignore[method-assign]
        setattr(made, _FAST, frozenset(f.name for f in dataclasses.fields(made)))  # type: ignore[arg-type]
    return made


def replace(instance: T, /, **changes: Any) -> T:
    """A copy of value ``instance`` with ``changes`` (as ``dataclasses.replace`` makes it)."""
    names: frozenset[str] | None = type(instance).__dict__.get(_FAST)
    if names is None:
        return dataclasses.replace(instance, **changes)  # type: ignore[type-var]
    if not names.issuperset(changes):
        unknown = ", ".join(sorted(set(changes) - names))
        raise TypeError(f"{type(instance).__name__}.__init__() got an unexpected keyword argument {unknown}")
    copy = object.__new__(type(instance))
    stored = copy.__dict__
    stored.update(instance.__dict__)
    stored.update(changes)
    post_init = getattr(copy, "__post_init__", None)
    if post_init is not None:
        post_init()
    return copy


def _fast_init(cls: type) -> Callable[..., None] | None:
    """The dict-storing ``__init__`` of dataclass ``cls``, or None where it would not be the same."""
    fields = dataclasses.fields(cls)
    parameters_made = list(inspect.signature(cls.__init__).parameters)[1:]  # type: ignore[misc]
    if "__slots__" in cls.__dict__ or parameters_made != [f.name for f in fields]:  # an InitVar, a field kept out
        return None
    if any(f.kw_only for f in fields):
        return None
    scope: dict[str, Any] = {"_NO_VALUE_": _NO_VALUE}
    parameters, body = ["self"], ["    __d__ = self.__dict__"]
    for f in fields:
        if f.default is not dataclasses.MISSING:
            scope[f"_default_{f.name}_"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}_")
        elif f.default_factory is not dataclasses.MISSING:
            scope[f"_factory_{f.name}_"] = f.default_factory
            parameters.append(f"{f.name}=_NO_VALUE_")
            body.append(f"    if {f.name} is _NO_VALUE_: {f.name} = _factory_{f.name}_()")
        else:
            parameters.append(f.name)
        body.append(f"    __d__[{f.name!r}] = {f.name}")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    source = "\n".join([f"def __init__({', '.join(parameters)}):", *body])
    exec(compile(source, f"<{cls.__qualname__}.__init__>", "exec"), scope)  # noqa: S102 - from field names
    init: Callable[..., None] = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init
