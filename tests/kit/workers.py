"""Real worker processes for integration tests: ``faust -A r3edge_streams worker`` on the test broker.

Each worker gets its own data directory and web port; every worker of one test shares that
test's topic prefix (so tests never see each other's topics, groups or tables). Every wait
here is scaled by the patience factor (``TEST_PATIENCE``, ``tests/kit/patience.py``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from r3edge_streams.config import Settings
from r3edge_streams.localkafka import free_port

from .http import READ_TOKEN, TRADER_TOKEN, request, wait_for
from .kafka import SEAL_KEY
from .patience import TimedOut, patient

FAUST = str(Path(sys.executable).with_name("faust"))
PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class Worker:
    """One worker process; ``url`` is its web address."""

    broker_url: str
    data_dir: Path
    topic_prefix: str
    partitions: int = 4
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "worker.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("R3EDGE_")}
        env.update(
            {
                "R3EDGE_BROKER": self.broker_url,
                "R3EDGE_DATA_DIR": str(self.data_dir / "state"),
                "R3EDGE_WEB_PORT": str(self.port),
                "R3EDGE_TOPIC_PREFIX": self.topic_prefix,
                "R3EDGE_PARTITIONS": str(self.partitions),
                "R3EDGE_API_TOKENS": f"trader:{TRADER_TOKEN},read:{READ_TOKEN}",
                "R3EDGE_SEAL_KEY": SEAL_KEY,  # one deployment: every worker of a test shares it
                # how long a write waits for the agent's decision before answering 202: tests that expect
                # the synchronous answer (201, 200) get the same patience as their own waits
                "R3EDGE_COMMAND_WAIT": str(patient(Settings.command_wait)),
                **self.extra_env,
            }
        )
        return env

    def start(self) -> Worker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [FAUST, "-A", "r3edge_streams", "worker", "-l", "info"],
            cwd=PROJECT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        return self

    def wait_ready(self, timeout: float = 90.0) -> Worker:
        """Wait until the worker answers /health with partitions assigned and no rebalance going
        on; a worker that exits meanwhile fails the test at once with its log's tail."""

        def ready() -> bool:
            self._check_alive()
            reply = request("GET", f"{self.url}/health", timeout=2)
            return reply.status == 200 and reply.body["active_partitions"] > 0 and not reply.body["rebalancing"]

        try:
            wait_for(ready, timeout, what=f"worker on port {self.port} to be ready")
        except TimedOut as exc:
            exc.add_note(f"worker log, last lines:\n{self.log_tail()}")
            raise
        return self

    def _check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")

    def wait_exit(self, timeout: float = 120.0) -> int:
        """Wait for the process to end by itself (a failpoint, a fatal error); its exit code.
        ``TimedOut`` if it still runs after ``timeout`` seconds times the patience factor."""
        assert self.process is not None, "the worker was never started"
        limit = patient(timeout)
        try:
            return self.process.wait(limit)
        except subprocess.TimeoutExpired:
            raise TimedOut(f"worker on port {self.port} to exit", limit, limit, "still running") from None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, no flush."""
        self._signal(signal.SIGKILL)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(patient(timeout))
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            if sig == signal.SIGKILL:
                self.process.wait(patient(10))

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def settle(seconds: float) -> None:
    """Give an event that cannot be polled (a rebalance, a commit interval, a message in flight)
    time to happen: ``seconds`` times the patience factor. Not for pacing an action on purpose
    (that is a plain sleep, with a comment) and never where a state can be polled (``wait_for``)."""
    time.sleep(patient(seconds))


async def settle_async(seconds: float) -> None:
    """``settle`` for async tests: the event loop goes on meanwhile."""
    await asyncio.sleep(patient(seconds))
