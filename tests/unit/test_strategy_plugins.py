"""A strategy from a separate package (tests/plugins/demo_strategies) is found through its entry
point and runs. The package is installed the way pip lays it out: the module plus a dist-info
folder with its entry points, on the import path."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from r3edge_streams.exchanges.ohlcv_files import load_ohlcv
from r3edge_streams.models import Direction
from r3edge_streams.strategies.base import StrategyError
from r3edge_streams.strategies.registry import available, create
from tests.kit.plugins import install_demo_plugin

CANDLES = load_ohlcv(
    Path(__file__).resolve().parents[1] / "data" / "UNITTEST_BTC-1m.json", "binance", "UNITTEST/BTC", "1m"
)


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    install_demo_plugin(tmp_path)
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("demo_strategies", None)


def test_a_plugin_strategy_is_found_and_runs(installed: Path) -> None:
    assert "streak" in available()
    strategy = create("streak", {"n": 3})
    decisions = [strategy.evaluate(CANDLES[max(0, i - strategy.warmup + 1) : i + 1]) for i in range(2000)]
    directions = {d.direction for d in decisions if d is not None}
    assert directions == {Direction.LONG, Direction.SHORT}
    i = next(i for i, d in enumerate(decisions) if d is not None and d.direction is Direction.LONG)
    closes = [c.close for c in CANDLES[i - 3 : i + 1]]
    assert closes == sorted(closes) and len(set(closes)) == 4  # three rises in a row, computed here


def test_a_plugin_validates_its_parameters(installed: Path) -> None:
    with pytest.raises(StrategyError, match="'n' must be an integer"):
        create("streak", {"n": 0})


def test_without_the_package_the_strategy_is_unknown() -> None:
    assert "streak" not in available()
    with pytest.raises(StrategyError, match="unknown strategy 'streak'"):
        create("streak", {})
