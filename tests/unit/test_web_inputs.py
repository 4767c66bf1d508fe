"""Strict parsing of the request target, headers and query parameters (r3edge_streams.web.inputs):
only valid percent-encoded UTF-8, only ASCII digits, each error naming its parameter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from multidict import MultiDict

from r3edge_streams.web.errors import HttpError
from r3edge_streams.web.inputs import (
    check_headers,
    check_target,
    choice,
    decoded,
    flag,
    has_lone_surrogate,
    integer,
    single,
)


def refusal(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(HttpError) as caught:
        call()
    assert caught.value.status == 400
    return caught.value.body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain", "plain"),
        ("a%20b+c", "a b c"),
        ("%C3%A9t%C3%A9", "été"),
        ("été", "été"),
        ("", ""),
        ("%FF", None),
        ("%C3", None),
        ("%ZZ", None),
        ("100%", None),
        ("%4", None),
        ("\udcff", None),
        ("%ED%A0%80", None),  # an encoded surrogate is not UTF-8
    ],
)
def test_only_valid_percent_encoded_utf8_decodes(raw: str, expected: str | None) -> None:
    assert decoded(raw) == expected


def test_the_target_error_names_the_parameter_or_the_part() -> None:
    check_target("/sessions/a%2Fb", "status=active&&limit=5&flag")
    assert refusal(lambda: check_target("/sessions/%FF", ""))["field"] == "path"
    assert refusal(lambda: check_target("/sessions", "limit=5&strategy=%FF"))["field"] == "strategy"
    assert refusal(lambda: check_target("/sessions", "limit=5&st%FFatus=x"))["field"] == "query"
    assert refusal(lambda: check_target("/sessions", "offset=\udcff"))["field"] == "offset"


def test_a_header_that_is_not_utf8_is_named() -> None:
    check_headers([("Accept", "*/*"), ("X-Name", "été")])
    assert refusal(lambda: check_headers([("Accept", "*/*"), ("X-Bad", "a\udcffb")]))["field"] == "X-Bad"


@pytest.mark.parametrize(
    "raw",
    [
        "١٢",  # Arabic-Indic digits: int() takes them
        "１２",  # full-width digits
        "²",
        "12³",  # superscripts: isdigit() is true, int() refuses
        "1" * 5000,  # longer than int() converts
        "-1",
        "+5",
        " 5",
        "5 ",
        "0x10",
        "1e3",
        "1_000",
        "",
        "0",
    ],
)
def test_integers_are_ascii_digits_in_range(raw: str) -> None:
    body = refusal(lambda: integer(MultiDict([("limit", raw)]), "limit", 100, 1, 1000))
    assert body["field"] == "limit" and "ASCII digits" in body["error"]


def test_integers_parse_with_defaults_and_bounds() -> None:
    assert integer(MultiDict(), "limit", 100, 1, 1000) == 100
    assert integer(MultiDict([("limit", "0007")]), "limit", 100, 1, 1000) == 7
    assert integer(MultiDict([("limit", "1000")]), "limit", 100, 1, 1000) == 1000
    refusal(lambda: integer(MultiDict([("limit", "1001")]), "limit", 100, 1, 1000))


def test_a_parameter_given_twice_is_refused() -> None:
    assert single(MultiDict([("a", "1")]), "a") == "1" and single(MultiDict(), "a") is None
    assert refusal(lambda: single(MultiDict([("a", "1"), ("a", "1")]), "a"))["field"] == "a"


def test_choices_and_flags() -> None:
    assert choice(MultiDict([("scope", "local")]), "scope", ("local",)) == "local"
    assert choice(MultiDict(), "scope", ("local",)) is None
    assert refusal(lambda: choice(MultiDict([("scope", "LOCAL")]), "scope", ("local",)))["field"] == "scope"
    assert flag(MultiDict([("active", "true")]), "active") is True
    assert flag(MultiDict([("active", "false")]), "active") is False
    assert flag(MultiDict(), "active") is None
    assert refusal(lambda: flag(MultiDict([("active", "1")]), "active"))["field"] == "active"


def test_lone_surrogates_are_found_anywhere_without_recursion() -> None:
    assert not has_lone_surrogate({"a": ["été", {"b": "😀"}], "n": 1, "none": None})
    assert has_lone_surrogate({"a": ["x", {"b": "\ud800"}]})
    assert has_lone_surrogate({"\udfff": 1})
    deep: Any = "\ud83d"
    for _ in range(100_000):
        deep = [deep]
    assert has_lone_surrogate(deep)
