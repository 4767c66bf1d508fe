"""The pure core's value classes make what a frozen dataclass of the same body makes (the
standard library's own, built here as the reference), with its defaults, factories,
``__post_init__``, equality, hash, ``replace`` and its refusal of assignment."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import FrozenInstanceError, InitVar, field, replace
from decimal import Decimal
from typing import Any

import pytest

from r3edge_streams.domain import values
from r3edge_streams.domain.values import value


def twins(body: Callable[[], dict[str, Any]], annotations: dict[str, Any]) -> tuple[type, type]:
    """The same class body (a new one for each: a dataclass takes its fields' objects) as a
    ``value`` class and as the standard frozen dataclass."""
    made = []
    for decorate in (value, dataclasses.dataclass(frozen=True)):
        namespace = {**body(), "__annotations__": dict(annotations)}
        made.append(decorate(type("Twin", (), namespace)))
    return made[0], made[1]


def as_made(instance: Any) -> dict[str, Any]:
    return dict(vars(instance))


def test_every_kind_of_field_is_made_as_the_dataclass_makes_it() -> None:
    fast, reference = twins(
        lambda: {"fee": Decimal("0.1"), "tags": field(default_factory=list), "note": None},
        {"price": "Decimal", "quantity": "Decimal", "fee": "Decimal", "tags": "list[str]", "note": "str | None"},
    )
    for args, kwargs in [
        ((Decimal(1), Decimal(2)), {}),
        ((Decimal(1),), {"quantity": Decimal(3), "note": "n"}),
        ((), {"price": Decimal(1), "quantity": Decimal(2), "fee": Decimal(0), "tags": ["a"]}),
    ]:
        made, expected = fast(*args, **kwargs), reference(*args, **kwargs)
        assert as_made(made) == as_made(expected)
        assert repr(made) == repr(expected) and made == fast(*args, **kwargs)
    assert fast(Decimal(1), Decimal(2)).tags is not fast(Decimal(1), Decimal(2)).tags  # a new list each


def test_equality_replace_and_the_refusal_of_assignment_are_the_dataclass_s() -> None:
    fast, _ = twins(dict, {"a": "int", "b": "int"})
    one = fast(1, 2)
    assert one == fast(1, 2) and one != fast(1, 3) and hash(one) == hash(fast(1, 2))
    assert replace(one, b=5) == fast(1, 5)
    with pytest.raises(FrozenInstanceError):
        one.a = 3
    with pytest.raises(TypeError):
        fast(1)  # a field without a default is required
    with pytest.raises(TypeError):
        fast(1, 2, c=3)  # no such field


def test_post_init_runs_and_classes_it_cannot_serve_keep_the_dataclass_init() -> None:
    def check(self: Any) -> None:
        if self.a < 0:
            raise ValueError("negative")

    checked, _ = twins(lambda: {"__post_init__": check}, {"a": "int"})
    assert checked(1).a == 1
    with pytest.raises(ValueError, match="negative"):
        checked(-1)

    def scaled(self: Any, factor: int) -> None:
        object.__setattr__(self, "a", self.a * factor)

    fast, reference = twins(lambda: {"__post_init__": scaled}, {"a": "int", "factor": InitVar[int]})
    assert as_made(fast(2, 3)) == as_made(reference(2, 3)) == {"a": 6}
    hidden, reference = twins(lambda: {"b": field(default_factory=lambda: 7, init=False)}, {"a": "int", "b": "int"})
    assert as_made(hidden(1)) == as_made(reference(1)) == {"a": 1, "b": 7}


def test_replace_makes_what_the_dataclass_s_replace_makes() -> None:
    def check(self: Any) -> None:
        if self.quantity < 0:
            raise ValueError("negative")

    fast, reference = twins(
        lambda: {"__post_init__": check, "tags": field(default_factory=list)},
        {"price": "Decimal", "quantity": "Decimal", "tags": "list[str]"},
    )
    one, other = fast(Decimal(1), Decimal(2)), reference(Decimal(1), Decimal(2))
    for changes in [{}, {"price": Decimal(5)}, {"quantity": Decimal(0), "tags": ["x"]}]:
        made, expected = values.replace(one, **changes), replace(other, **changes)
        assert as_made(made) == as_made(expected) and type(made) is fast and made is not one
    assert as_made(one) == {"price": Decimal(1), "quantity": Decimal(2), "tags": []}  # the source unchanged
    with pytest.raises(ValueError, match="negative"):
        values.replace(one, quantity=Decimal(-1))  # checked as construction checks
    with pytest.raises(TypeError, match="volume"):
        values.replace(one, volume=Decimal(1))
    served_by_dataclass, _ = twins(lambda: {"b": field(default=7, init=False)}, {"a": "int", "b": "int"})
    assert as_made(values.replace(served_by_dataclass(1), a=2)) == {"a": 2}
