"""The tables' decode memory: a stored value is decoded once while it is read often, and a
read always gives what is stored now (the memory is keyed by the stored bytes)."""

from __future__ import annotations

import importlib
import json
import pkgutil
from decimal import Decimal

import r3edge_streams.tables
from r3edge_streams.application import app
from r3edge_streams.tablestore import DecodedMemory, DecodedTable


class CountingDecode:
    def __init__(self) -> None:
        self.calls: list[bytes | None] = []

    def __call__(self, raw: bytes | None) -> object:
        self.calls.append(raw)
        return None if raw is None else json.loads(raw, parse_float=Decimal)


def test_the_same_bytes_are_decoded_once_and_new_bytes_give_the_new_value() -> None:
    decode = CountingDecode()
    memory = DecodedMemory(decode, size=8)
    first = memory(b'{"qty": 1.5}')
    assert memory(bytearray(b'{"qty": 1.5}')) is first  # equal bytes from another buffer
    assert memory(b'{"qty": 2.5}') == {"qty": Decimal("2.5")}  # a new write is a new value
    assert memory(b'{"qty": 1.5}') is first
    assert decode.calls == [b'{"qty": 1.5}', b'{"qty": 2.5}']


def test_the_memory_is_bounded_and_forgets_the_least_recently_read() -> None:
    decode = CountingDecode()
    memory = DecodedMemory(decode, size=2)
    for raw in (b"1", b"2", b"1", b"3"):  # 2 is the least recently read when 3 comes
        memory(raw)
    assert len(memory._kept) == 2
    memory(b"1")
    memory(b"2")
    assert decode.calls == [b"1", b"2", b"3", b"2"]


def test_a_written_value_is_read_back_without_decoding() -> None:
    decode = CountingDecode()
    memory = DecodedMemory(decode)
    written = {"qty": Decimal("3")}
    memory.remember(b'{"qty": 3}', written)
    assert memory(b'{"qty": 3}') is written
    assert memory(b'{"qty": 4}') == {"qty": Decimal("4")}
    assert decode.calls == [b'{"qty": 4}']


def test_a_missing_value_is_never_remembered() -> None:
    decode = CountingDecode()
    memory = DecodedMemory(decode)
    assert memory(None) is None and memory(None) is None
    assert decode.calls == [None, None]


def test_every_table_of_the_app_remembers_its_decoded_values() -> None:
    for module in pkgutil.iter_modules(r3edge_streams.tables.__path__):
        importlib.import_module(f"r3edge_streams.tables.{module.name}")
    assert app.conf.Table is DecodedTable
    assert len(app.tables) >= 10 and all(isinstance(table, DecodedTable) for table in app.tables.values())
