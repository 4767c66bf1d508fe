"""The embedded broker formats its storage with any valid cluster id, even one beginning with '-'.

In: a fresh state folder and a forced id such as ``-x...``. Out: Kafka's storage tool accepts it
and records it in ``meta.properties`` (before the fix, ``-t -x...`` was read as an option).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from r3edge_streams.localkafka import LocalKafka, free_port


def _cluster_id(path: Path) -> str:
    lines = path.read_text().splitlines()
    return next(line.partition("=")[2] for line in lines if line.startswith("cluster.id="))


@pytest.mark.parametrize(("head", "looks_like"), [(b"\xf8\x00", "-A"), (b"\xfb\xe0", "--")], ids=["dash", "two-dashes"])
def test_storage_formats_with_an_id_beginning_with_a_dash(tmp_path: Path, head: bytes, looks_like: str) -> None:
    """Ids that read like a short option (``-A…``) and a long one (``--…``)."""
    forced = base64.urlsafe_b64encode(head + bytes(range(14))).decode().rstrip("=")
    assert forced.startswith(looks_like) and len(forced) == 22
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    assert broker.format_storage(forced) == forced
    assert _cluster_id(broker.meta_file) == forced


def test_storage_formats_with_a_fresh_id(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    cid = broker.format_storage()
    assert not cid.startswith("-") and _cluster_id(broker.meta_file) == cid
