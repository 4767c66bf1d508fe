"""``faust -A r3edge_streams backtest`` as a user runs it: a process on a fresh install, no broker.

The report's trades are judged by the independent computation of ``tests/kit/reference.py`` on
the data file; bad inputs exit 2 with one line naming the problem; ``--exchange`` reads the
fake Binance's history through the local cache, and a second run downloads nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.kit.fake_binance import FakeBinance, load_candles
from tests.kit.reference import Rules, exact_sma_crossings, iso_of, reference_trades

FAUST = str(Path(sys.executable).with_name("faust"))
PROJECT = Path(__file__).resolve().parents[2]
DATA = PROJECT / "tests" / "data" / "UNITTEST_BTC-1m.json"
ROWS: list[list[Any]] = json.loads(DATA.read_text())
START, STOP = 300, 4000  # rows of the run: the ones before warm the strategy up


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("R3EDGE_")}
    return {**clean, "R3EDGE_DATA_DIR": str(data_dir), **extra}


def run(options: list[str], data_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    argv = [FAUST, "-A", "r3edge_streams", "backtest", *options]
    env = environment(data_dir, **extra)
    return subprocess.run(
        argv, cwd=PROJECT, capture_output=True, text=True, env=env, timeout=300, stdin=subprocess.DEVNULL
    )


def market(*extra: str) -> list[str]:
    return ["--symbol", "UNITTEST/BTC", "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=30", *extra]


def test_a_backtest_writes_its_report_and_its_trades_are_the_rules(tmp_path: Path) -> None:
    out, page = tmp_path / "report.json", tmp_path / "report.html"
    start, stop = iso_of(int(ROWS[START][0])), iso_of(int(ROWS[STOP][0]))
    done = run(["--data", str(DATA), *market("--from", start, "--to", stop, "--fee-bps", "7.5", "--slippage-bps",
                "2", "--capital", "5000", "--json", str(out), "--html", str(page))], tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "total_return" in done.stdout and "sharpe" in done.stdout, "a summary table"
    report = json.loads(out.read_text())
    rules = Rules(Decimal(5000), Decimal("0.1"), Decimal("0.25"), Decimal("7.5"), Decimal(2))
    wanted = reference_trades(ROWS, START, STOP, exact_sma_crossings(ROWS, 10, 30), rules)
    trades = report["trades"]
    assert [(t["entry_time"], t["exit_time"]) for t in trades] == [
        (w.entry_time.replace("+00:00", "Z"), w.exit_time.replace("+00:00", "Z")) for w in wanted.trips
    ]
    for trade, expected in zip(trades, wanted.trips, strict=True):
        assert set(trade) >= {"entry_time", "exit_time", "entry_price", "exit_price", "side", "quantity", "fee", "pnl"}
        assert Decimal(trade["entry_price"]) == expected.entry_price and Decimal(trade["quantity"]) == expected.quantity
        assert abs(Decimal(trade["pnl"]) - expected.pnl) <= Decimal("1e-18")
    assert len(report["equity"]) == STOP - START and report["metrics"]["trades"] == len(trades)
    assert report["backtest"]["from"] == start.replace("+00:00", "Z")
    assert "<html" in page.read_text()[:500].lower()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--data", "{bad}", *market()], "expected a JSON array"),
        (["--data", "{disorder}", *market()], "out of order"),
        (["--data", "{offgrid}", *market()], "off the 1m grid"),
        (["--data", str(DATA), *market("--from", "2019-01-01T00:00:00Z")], "no 1m candles in the range"),
        (["--data", str(DATA), *market("--from", "2017-11-06", "--to", "2017-11-05")], "the range is empty"),
        (["--data", str(DATA), "--symbol", "UNITTEST/BTC", "--strategy", "nope"], "unknown strategy 'nope'"),
        (["--data", str(DATA), *market("--param", "fats=3")], "unknown parameter 'fats'"),
        (["--data", str(DATA), *market("--timeframe", "2m")], "timeframe"),
        (["--data", str(DATA), *market("--fee-bps", "-1")], "fee_bps"),
        (["--data", str(DATA), "--exchange", "binance", *market()], "exactly one of --data"),
        (["--data", "/nonexistent/file.json", *market()], "cannot be read"),
    ],
)
def test_a_bad_input_exits_2_naming_the_problem(options: list[str], named: str, tmp_path: Path) -> None:
    files = {"bad": tmp_path / "bad.json", "disorder": tmp_path / "disorder.json", "offgrid": tmp_path / "off.json"}
    files["bad"].write_text('{"open": 1}')
    files["disorder"].write_text(json.dumps([ROWS[1], ROWS[0], *ROWS[2:50]]))
    files["offgrid"].write_text(json.dumps([ROWS[0], [ROWS[1][0] + 1500, *ROWS[1][1:]], *ROWS[2:50]]))
    done = run([o.format(**files) for o in options], tmp_path)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert named in done.stderr and done.stderr.count("\n") == 1, done.stderr


async def test_an_exchanges_history_is_downloaded_once_into_the_cache(tmp_path: Path) -> None:
    rows = load_candles(DATA)
    async with FakeBinance({"UNITTEST/BTC": rows}) as fake:
        options = ["--exchange", "binance", *market("--from", iso_of(int(ROWS[START][0])), "--to",
                   iso_of(int(ROWS[2500][0])), "--json", str(tmp_path / "r.json"))]  # fmt: skip
        extra = {"R3EDGE_EXCHANGE_URLS": f"binance={fake.url}"}
        first = await asyncio.to_thread(run, options, tmp_path, **extra)
        assert first.returncode == 0, first.stderr
        asked = len(fake.requests_to("/api/v3/klines"))
        again = await asyncio.to_thread(run, options, tmp_path, **extra)
        assert again.returncode == 0, again.stderr
        assert len(fake.requests_to("/api/v3/klines")) == asked, "the second run downloads nothing"
    report = json.loads((tmp_path / "r.json").read_text())
    rules = Rules(Decimal(10000), Decimal("0.1"), Decimal("0.25"), Decimal(10), Decimal(0))
    wanted = reference_trades(ROWS, START, 2500, exact_sma_crossings(ROWS, 10, 30), rules)
    assert [t["exit_time"] for t in report["trades"]] == [w.exit_time.replace("+00:00", "Z") for w in wanted.trips]
