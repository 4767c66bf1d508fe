"""Disk use of a long replay: what the strategy windows' changelog costs, next to the market data.

Starts its own broker (the embedded one, on free loopback ports, in a temporary folder) and one
worker, replays the real candles at full speed to N sessions on N strategy instances of one
market, waits until every window has taken every candle, then prints, per topic, the bytes on
the broker's disk and the records written. Baseline measured in the same run: the same windows
encoded the way they were before this project kept them compactly (one full Candle record per
candle), so the ratio says what the compact form saves. It stops by itself; it asserts nothing.

    .venv/bin/python benchmarks/changelog_disk.py [--sessions 10] [--timeframe 1m] [--slow 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from r3edge_streams.localkafka import LocalKafka, free_port  # noqa: E402
from r3edge_streams.models import StrategyWindow  # noqa: E402
from tests.kit.http import request, wait_for  # noqa: E402
from tests.kit.kafka import read_all  # noqa: E402
from tests.kit.workers import Worker  # noqa: E402

DATA = ROOT / "tests" / "data" / "UNITTEST_BTC-1m.json"


def _sizes(data_dir: Path, prefix: str) -> dict[str, int]:
    """Bytes of log segments per topic (all partitions) of this run's topics: the records on disk,
    without the index files Kafka preallocates (10 MiB each per active segment, whatever it holds)."""
    sizes: dict[str, int] = {}
    for folder in data_dir.iterdir():
        if folder.is_dir() and folder.name.startswith(prefix):
            topic = folder.name.rsplit("-", 1)[0].removeprefix(prefix + ".")
            logs = sum(f.stat().st_size for f in folder.iterdir() if f.is_file() and f.suffix == ".log")
            sizes[topic] = sizes.get(topic, 0) + logs
    return sizes


def _old_form(window: StrategyWindow) -> int:
    """Bytes of the same window as it used to be kept: a list of full Candle records."""
    candles = [c.derive(previous_open=c.open_time) for c in window.candles()]
    return len(
        json.dumps(
            {
                "strategy_id": window.strategy_id,
                "candles": [json.loads(c.dumps()) for c in candles],
                "failed": None,
                "generation": 0,
            }
        ).encode()
    )


async def _changelog(kafka: LocalKafka, prefix: str) -> list[bytes]:
    records = await read_all(kafka.bootstrap, f"{prefix}.r3edge-strategy_windows-changelog", timeout=300)
    return [r.value for r in records if r.value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--timeframe", default="1m")
    parser.add_argument("--slow", type=int, default=200, help="the widest instance's slow average")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="r3edge-bench-"))
    kafka = LocalKafka(home / "kafka", port=free_port(), controller_port=free_port(), heap="512m")
    kafka.start()
    worker = Worker(
        kafka.broker_url,
        home / "w1",
        "bench",
        partitions=4,
        extra_env={
            "R3EDGE_REPLAY_DIR": str(DATA.parent),
            "R3EDGE_REPLAY_SPEED": "max",
            "R3EDGE_COLLECT_INTERVAL": "0.5",
            "R3EDGE_COLLECT_LOOKBACK": "20000",
        },
    )
    try:
        worker.start().wait_ready(180)
        started = time.monotonic()
        for n in range(args.sessions):  # all created first: once the replay runs, the worker is busy
            slow = 20 + (args.slow - 20) * n // max(args.sessions - 1, 1)
            spec = {
                "session_id": f"b{n}",
                "strategy": "sma_cross",
                "parameters": {"fast": 5, "slow": slow},
                "exchange": "replay",
                "symbol": "UNITTEST/BTC",
                "timeframe": args.timeframe,
                "mode": "backtest",
                "refresh_seconds": 60,
            }
            assert request("POST", f"{worker.url}/sessions", spec).status == 201
        for n in range(args.sessions):
            assert request("POST", f"{worker.url}/sessions/b{n}/start").status in (200, 202)  # 202: decided later

        def done() -> bool:
            items = request("GET", f"{worker.url}/strategies").body["items"]
            published = asyncio.run(read_all(kafka.bootstrap, "bench.marketdata", timeout=120))
            last = max(json.loads(r.value)["open_time"] for r in published) if published else None
            return (
                len(items) == args.sessions and all(i["last_candle"] == last for i in items) and len(published) > 1000
            )

        wait_for(done, 1800, interval=5, what="every window to take every candle")
        elapsed = time.monotonic() - started
        values = asyncio.run(_changelog(kafka, "bench"))
        candles = asyncio.run(read_all(kafka.bootstrap, "bench.marketdata", timeout=120))
        sample = [StrategyWindow.loads(v) for v in values[-args.sessions :]]
        ratio = sum(_old_form(w) for w in sample) / sum(len(w.dumps()) for w in sample)
        sizes = _sizes(home / "kafka" / "data", "bench")
        print(f"replay of {len(candles)} {args.timeframe} candles to {args.sessions} sessions in {elapsed:.0f} s")
        print(f"{'topic':48} {'MiB of logs':>12}")
        for topic, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]:
            print(f"{topic:48} {size / 2**20:12.1f}")
        print(
            f"strategy_windows changelog: {len(values)} records, largest {max(map(len, values)) / 1024:.0f} KiB, "
            f"{sum(map(len, values)) / 2**20:.1f} MiB written"
        )
        print(f"marketdata: {len(candles)} records, {sum(len(r.value or b'') for r in candles) / 2**20:.1f} MiB")
        print(f"old form of the same windows / compact form: {ratio:.2f}x")
    finally:
        worker.stop()
        kafka.stop()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
