"""The embedded broker's cluster ids: valid Kafka ids that no command line takes for an option.

In: many ids from ``new_cluster_id``. Out: each is 22 base64url characters decoding to 16 bytes,
and none begins with '-' (one random id in 64 would).
"""

from __future__ import annotations

import base64
import re

from r3edge_streams.localkafka import new_cluster_id

SAMPLES = 20_000  # without the fix, P(no id begins with '-') = (63/64)**20000, about 1e-137


def test_cluster_ids_are_valid_kafka_ids() -> None:
    for cid in (new_cluster_id() for _ in range(SAMPLES)):
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cid), cid
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16
        assert base64.urlsafe_b64encode(base64.urlsafe_b64decode(cid + "==")).decode().rstrip("=") == cid


def test_no_cluster_id_begins_with_a_dash() -> None:
    ids = {new_cluster_id() for _ in range(SAMPLES)}
    assert len(ids) == SAMPLES  # random, not one fixed id that happens to be safe
    assert not [cid for cid in ids if cid.startswith("-")]
    assert {cid[0] for cid in ids} >= set("AZaz09_")  # every other first character still occurs
