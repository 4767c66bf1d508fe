"""Seals on the money path's records: only this deployment's key, topic, key bytes and value pass."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from r3edge_streams.catalogue import CATALOGUE
from r3edge_streams.config import SettingsError, load_settings
from r3edge_streams.seals import SEAL_HEADER, check, headers_for, load_key, seal
from tests.kit.kafka import SEAL_KEY, seal_headers

KEY = SEAL_KEY.encode()
VALUE = b'{"order_id": "s1:o1", "quantity": "1"}'


def test_a_record_sealed_for_its_topic_passes_with_the_header_as_kafka_hands_it_over() -> None:
    headers = headers_for(KEY, "orders", b'"s1:o1"', VALUE)
    assert check(KEY, "orders", b'"s1:o1"', VALUE, list(headers.items())) is None  # aiokafka: pairs
    assert check(KEY, "orders", b'"s1:o1"', VALUE, headers) is None  # a mapping
    assert check(KEY, "orders", b'"s1:o1"', VALUE, [(SEAL_HEADER.encode(), headers[SEAL_HEADER])]) is None


def test_the_format_is_the_documented_one() -> None:
    """The README's format, as the test kit computes it on its own."""
    assert seal_headers("orders", b"k", VALUE) == [(SEAL_HEADER, seal(KEY, "orders", b"k", VALUE))]
    assert seal_headers("orders", None, None) == [(SEAL_HEADER, seal(KEY, "orders", None, None))]


@pytest.mark.parametrize(
    ("key", "topic", "record_key", "value"),
    [
        (b"another deployment's key, 32 characters or more", "orders", b'"s1:o1"', VALUE),
        (KEY, "raworders", b'"s1:o1"', VALUE),  # moved to another topic
        (KEY, "orders", b'"s1:o2"', VALUE),  # another key
        (KEY, "orders", b'"s1:o1"', VALUE.replace(b'"1"', b'"10"')),  # a bigger quantity
        (KEY, "orders", None, VALUE),
        (KEY, "orders", b'"s1:o1"', None),
    ],
)
def test_anything_changed_breaks_the_seal(
    key: bytes, topic: str, record_key: bytes | None, value: bytes | None
) -> None:
    headers = headers_for(key, topic, record_key, value)
    problem = check(KEY, "orders", b'"s1:o1"', VALUE, headers)
    assert problem is not None and "bad seal" in problem


@given(a=st.binary(max_size=40), b=st.binary(max_size=40))
def test_the_parts_cannot_be_shifted_between_key_and_value(a: bytes, b: bytes) -> None:
    """Length prefixes: the same bytes split differently between key and value seal differently."""
    if a:
        assert seal(KEY, "orders", a, b) != seal(KEY, "orders", a[:-1], a[-1:] + b)
    assert seal(KEY, "orders", None, b) != seal(KEY, "orders", b"", b)


@pytest.mark.parametrize(
    "headers",
    [
        None,
        [],
        [("other", b"x")],
        {SEAL_HEADER: b"v1:00"},
        [(SEAL_HEADER, b"x"), (SEAL_HEADER, b"y")],
        [(SEAL_HEADER, 1)],
    ],
)
def test_a_missing_doubled_or_wrong_header_is_refused_with_a_reason(headers: object) -> None:
    problem = check(KEY, "orders", b"k", VALUE, headers)
    assert problem is not None and "seal" in problem


def test_every_topic_only_the_engine_writes_is_sealed_and_the_command_topics_not() -> None:
    unsealed = {spec.name for spec in CATALOGUE if not spec.sealed}
    assert unsealed == {"sessioncommands", "workloadcommands"}  # traders' clients and operators write them


def test_without_a_configured_key_workers_share_one_made_once_and_private(tmp_path: Path) -> None:
    key_file = tmp_path / "volume" / "seal.key"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: load_key("", key_file), range(32)))
    assert len(set(keys)) == 1 and len(keys[0]) >= 32
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["seal.key"]  # no drafts left behind
    assert load_key("", key_file) == keys[0]  # a restart reads it again
    assert load_key(SEAL_KEY, key_file) == KEY  # a configured key wins


def test_a_short_key_file_is_an_error_not_a_weak_key(tmp_path: Path) -> None:
    (tmp_path / "seal.key").write_text("short\n")
    with pytest.raises(ValueError, match="fewer than 32"):
        load_key("", tmp_path / "seal.key")


def test_the_key_setting_is_secret_and_long(tmp_path: Path) -> None:
    weak = "not-long-enough-secret"
    with pytest.raises(SettingsError) as error:
        load_settings({"R3EDGE_SEAL_KEY": weak})
    assert "R3EDGE_SEAL_KEY" in str(error.value) and weak not in str(error.value)
    settings = load_settings({"R3EDGE_SEAL_KEY": SEAL_KEY, "R3EDGE_DATA_DIR": str(tmp_path / "{hostname}")})
    assert SEAL_KEY not in repr(settings)
    assert settings.seal_key_file == tmp_path / "seal.key"  # beside the per-host data folders
