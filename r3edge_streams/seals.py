"""Seals: records carry proof that this deployment's own agents wrote them.

In: the deployment's seal key, a catalogue topic's name and a record's key and value bytes (and,
to check, the headers it came with). Out: the seal, an HMAC-SHA256 over the topic, the key and
the value (the ``r3-seal`` header's value, ``v1:`` and 64 hex digits), and the verdict on a
received record: None when its seal is this deployment's, else why not.

Every topic that only the engine writes is sealed (the catalogue's ``sealed``: all but the
command topics that traders' clients and operators write). Candles, signals, prices, raw
orders, orders, venue news and fills move money, so the agents (and the read-backs after a
takeover) act only on sealed ones: a record produced from outside — a candle, a signal, a raw
order for a session that does not exist or has stopped — or altered on its way (a bigger
quantity, another key, moved to another topic) is dead-lettered with the reason before it is
decided on, sized, reserved, placed or booked. A redelivery carries its record's header and
passes, and the agents take it once as before. The key comes from ``R3EDGE_SEAL_KEY`` or,
unset, from a key file the workers share beside their data folders (made once, owner-only).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SEAL_HEADER = "r3-seal"
_VERSION = "v1"


def seal(key: bytes, topic: str, record_key: bytes | None, value: bytes | None) -> bytes:
    """The seal of one record of catalogue topic ``topic`` (each part length-prefixed)."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (_VERSION.encode(), topic.encode(), record_key, value):
        mac.update(b"\xff" * 4 if part is None else struct.pack(">I", len(part)) + part)
    return f"{_VERSION}:{mac.hexdigest()}".encode()


def check(key: bytes, topic: str, record_key: bytes | None, value: bytes | None, headers: Any) -> str | None:
    """None when the record carries this deployment's seal for ``topic``; else the reason."""
    found = [v for name, v in _pairs(headers) if name == SEAL_HEADER]
    if not found:
        return f"not sealed: only this deployment's agents write {topic} (no {SEAL_HEADER} header)"
    if len(found) > 1:
        return f"more than one {SEAL_HEADER} header"
    given = found[0] if isinstance(found[0], bytes) else str(found[0]).encode()
    if not hmac.compare_digest(given, seal(key, topic, record_key, value)):
        return f"bad seal: not written by this deployment's agents for {topic}, or changed since"
    return None


def headers_for(key: bytes, topic: str, record_key: bytes | None, value: bytes | None) -> dict[str, bytes]:
    """The headers a sealed record is sent with."""
    return {SEAL_HEADER: seal(key, topic, record_key, value)}


def _pairs(headers: Any) -> Iterable[tuple[str, Any]]:
    """(name, value) of Kafka headers as Faust or aiokafka hand them over (pairs or a mapping)."""
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(n.decode(errors="replace") if isinstance(n, bytes) else str(n), v) for n, v in items]


def load_key(configured: str, key_file: Path) -> bytes:
    """The configured key, else the shared key file's (made on first use, owner-readable only)."""
    if configured:
        return configured.encode()
    try:
        return _read(key_file)
    except FileNotFoundError:
        pass
    key_file.parent.mkdir(parents=True, exist_ok=True)
    draft = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_hex(32) + "\n")
    try:
        os.link(draft, key_file)  # atomic: the first worker's key wins, whole
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return _read(key_file)


def _read(key_file: Path) -> bytes:
    text = key_file.read_text().strip()
    if len(text) < 32:
        raise ValueError(f"the seal key file {key_file} holds fewer than 32 characters")
    return text.encode()
