"""Tables whose stores remember what they decoded: ``DecodedTable``, the app's table class.

In: a table's raw value bytes, as its store reads them. Out: the decoded record, taken from a
bounded memory of recent (bytes -> record) pairs when the same bytes were decoded, or encoded
by a write of this worker, before.
A store decodes on every read, and the position tracker reads a session's state, feed and
position on every price it takes (a faust Record of a few kilobytes costs far more to build
than the read itself). The memory is keyed by the stored bytes, so whoever wrote the value,
here or on another worker through the changelog, a read returns what is stored now; records
read from tables are never changed in place (every writer ``derive``s a new one), so sharing
one decoded object between readers is safe. A write remembers its own record under the bytes
it stored, so a value written on every request (a session's feed) is not decoded back: the
reader gets the writer's record, as a ``memory://`` store (which keeps objects) always gave.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import faust
from faust.stores.base import Store
from faust.types import StoreT

REMEMBERED = 4096  # decoded values a table's store keeps (the most recently read ones)


class DecodedMemory:
    """A store's decode function with a bounded LRU memory of its results."""

    def __init__(self, decode: Callable[[bytes | None], Any], size: int = REMEMBERED) -> None:
        self._decode = decode
        self._size = size
        self._kept: OrderedDict[bytes, Any] = OrderedDict()

    def __call__(self, raw: bytes | None) -> Any:
        if raw is None:
            return self._decode(raw)
        key = bytes(raw)  # rocksdict may hand out a buffer; the memory keys by the immutable bytes
        kept = self._kept.get(key, _MISSING)
        if kept is not _MISSING:
            self._kept.move_to_end(key)
            return kept
        value = self._decode(key)
        self._kept[key] = value
        if len(self._kept) > self._size:
            self._kept.popitem(last=False)
        return value

    def remember(self, raw: bytes | None, value: Any) -> None:
        """What a write stored: its bytes read back are ``value`` (the writer's own record)."""
        if raw is not None:
            self._kept[bytes(raw)] = value
            self._kept.move_to_end(bytes(raw))
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)


def _encoding(encode: Callable[[Any], bytes | None], memory: DecodedMemory) -> Callable[[Any], bytes | None]:
    def encode_and_remember(value: Any) -> bytes | None:
        raw = encode(value)
        memory.remember(raw, value)
        return raw

    return encode_and_remember


_MISSING = object()


class DecodedTable(faust.Table):
    """faust.Table whose store decodes each distinct stored value once while it stays in memory."""

    def _new_store(self) -> StoreT:
        store = super()._new_store()
        if isinstance(store, Store):  # every store faust builds from a URL (rocksdb://, memory://)
            memory = DecodedMemory(store._decode_value)
            store._decode_value = memory  # type: ignore[method-assign, assignment]
            store._encode_value = _encoding(store._encode_value, memory)  # type: ignore[method-assign, assignment]
        return store
