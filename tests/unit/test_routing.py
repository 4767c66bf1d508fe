"""Key placement: the partition the views compute is the one Kafka's producer picks."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from faust.serializers import codecs

from r3edge_streams.models import decode_key, encode_key
from r3edge_streams.models.codec import MalformedMessage, partition_of


@pytest.mark.parametrize("key", ["s1", "alpha", "binance:BTC/USDT:1m", "9f86d081884c7d65", "é-ünïcode"])
@pytest.mark.parametrize("partitions", [1, 4, 8, 12])
def test_views_and_producers_agree_on_the_partition_of_a_key(key: str, partitions: int) -> None:
    everything = list(range(partitions))
    assert partition_of(key, partitions) == DefaultPartitioner()(encode_key(key), everything, everything)


def test_keys_are_json_as_faust_tables_serialise_them() -> None:
    assert encode_key("s1") == codecs.dumps("json", "s1") == b'"s1"'
    assert decode_key(encode_key("binance:BTC/USDT:1m")) == "binance:BTC/USDT:1m"


@pytest.mark.parametrize("raw", [b"s1", b"1", b"{}", b"\xff"])
def test_keys_that_are_not_json_strings_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_key(raw)
