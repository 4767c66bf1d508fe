"""Settings: defaults, every variable, clear errors, and Faust's own variables ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from r3edge_streams.config import Guarantee, Settings, SettingsError, TradingMode, load_settings

PROJECT = Path(__file__).resolve().parents[2]


def test_defaults_are_a_local_paper_deployment() -> None:
    settings = load_settings({})
    assert settings.broker == "kafka://127.0.0.1:9092" and settings.embedded_broker
    assert settings.store == "rocksdb://"
    assert settings.trading_mode is TradingMode.PAPER
    assert settings.canonical_url == "http://127.0.0.1:6066"
    assert settings.app_id == "r3edge" and settings.topic_name("orders") == "orders"


def test_every_variable_is_read() -> None:
    settings = load_settings(
        {
            "R3EDGE_BROKER": "kafka://k1:9092;kafka://k2:9092",
            "R3EDGE_STORE": "memory://",
            "R3EDGE_DATA_DIR": "/srv/state",
            "R3EDGE_PARTITIONS": "12",
            "R3EDGE_REPLICATION": "3",
            "R3EDGE_GUARANTEE": "exactly_once",
            "R3EDGE_WEB_HOST": "10.0.0.5",
            "R3EDGE_WEB_PORT": "7000",
            "R3EDGE_TOPIC_PREFIX": "prod",
            "R3EDGE_TRADING_MODE": "LIVE",
            "R3EDGE_LOG_LEVEL": "WARNING",
        }
    )
    assert settings == Settings(
        broker="kafka://k1:9092;kafka://k2:9092",
        store="memory://",
        data_dir=Path("/srv/state"),
        partitions=12,
        replication=3,
        guarantee=Guarantee.EXACTLY_ONCE,
        web_host="10.0.0.5",
        web_port=7000,
        canonical_url="http://10.0.0.5:7000",
        topic_prefix="prod",
        trading_mode=TradingMode.LIVE,
        log_level="warning",
    )
    assert not settings.embedded_broker
    assert settings.app_id == "prod.r3edge" and settings.topic_name("orders") == "prod.orders"


def test_a_wildcard_bind_advertises_the_host_name() -> None:
    settings = load_settings({"R3EDGE_WEB_HOST": "0.0.0.0"})
    assert settings.canonical_url.startswith("http://") and "0.0.0.0" not in settings.canonical_url


def test_errors_name_every_bad_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(
            {
                "R3EDGE_PARTITIONS": "0",
                "R3EDGE_BROKER": "localhost:9092",
                "R3EDGE_TRADING_MODE": "yolo",
                "R3EDGE_WEB_PORT": "http",
                "R3EDGE_PARTITONS": "8",
            }
        )
    message = str(caught.value)
    for expected in (
        "R3EDGE_PARTITIONS='0'",
        "R3EDGE_BROKER",
        "R3EDGE_TRADING_MODE",
        "R3EDGE_WEB_PORT",
        "R3EDGE_PARTITONS: unknown setting",
    ):
        assert expected in message


def test_faust_variables_do_not_override_the_settings() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("R3EDGE_")}
    env.update(
        {
            "BROKER_URL": "kafka://elsewhere:1",
            "WEB_PORT": "1234",
            "APP_STORE": "memory://",
            "STORE": "memory://",
            "R3EDGE_WEB_PORT": "7001",
            "R3EDGE_PARTITIONS": "6",
        }
    )
    code = (
        "import json; from r3edge_streams.application import app; c = app.conf; print(json.dumps("
        "[str(c.broker[0]), c.web_port, str(c.store), c.topic_partitions]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=PROJECT, capture_output=True, text=True, check=True
    ).stdout
    broker, port, store, partitions = json.loads(out.strip().splitlines()[-1])
    assert broker == "kafka://127.0.0.1:9092" and port == 7001 and store == "rocksdb:" and partitions == 6


def test_a_failpoint_names_a_point_and_a_pass() -> None:
    assert load_settings({"R3EDGE_FAILPOINT": "strategies.after_signal:3"}).failpoint == ("strategies.after_signal", 3)
    assert load_settings({}).failpoint is None
    for bad in ("strategies.after_signal", "after_signal:2", "strategies.after_signal:0"):
        with pytest.raises(SettingsError, match="R3EDGE_FAILPOINT"):
            load_settings({"R3EDGE_FAILPOINT": bad})


def test_the_embedded_kafka_port_is_a_setting_of_the_run_command() -> None:
    assert load_settings({}).embedded_kafka_port == 9092
    settings = load_settings({"R3EDGE_EMBEDDED_KAFKA_PORT": "19092"})
    assert settings.embedded_kafka_port == 19092 and settings.embedded_broker
    with pytest.raises(SettingsError, match="R3EDGE_EMBEDDED_KAFKA_PORT='65535'"):
        load_settings({"R3EDGE_EMBEDDED_KAFKA_PORT": "65535"})  # its controller takes the next port


def test_collector_bounds_are_settings() -> None:
    settings = load_settings({"R3EDGE_COLLECT_CONCURRENCY": "2", "R3EDGE_COLLECT_ROUND_TIMEOUT": "7.5"})
    assert (settings.collect_concurrency, settings.collect_round_timeout) == (2, 7.5)
    assert (load_settings({}).collect_concurrency, load_settings({}).collect_round_timeout) == (4, 30.0)
    with pytest.raises(SettingsError) as caught:
        load_settings({"R3EDGE_COLLECT_CONCURRENCY": "0", "R3EDGE_COLLECT_ROUND_TIMEOUT": "0"})
    assert "R3EDGE_COLLECT_CONCURRENCY" in str(caught.value) and "R3EDGE_COLLECT_ROUND_TIMEOUT" in str(caught.value)


def test_the_readme_settings_table_names_every_setting() -> None:
    from r3edge_streams.config import _PARSERS, env_name

    readme = (PROJECT / "README.md").read_text()
    table = readme[readme.index("| Variable | Default | Meaning |") : readme.index("## DataCollect")]
    assert [env_name(field) for field in _PARSERS if f"`{env_name(field)}`" not in table] == []
