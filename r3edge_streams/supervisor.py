"""The run command's supervision of its worker: restart it when it ends on its own, stop it on a signal.

In: the worker's command line and environment, a :class:`RestartPolicy` and the
:class:`StopSignals` of this process. Out: the worker kept running (restarted with back-off
after any exit nobody asked for: a crash, a kill, any exit code, each restart logged with the
code and the delay) until SIGINT or SIGTERM, which is forwarded to the worker, then SIGKILL
after a grace period; :meth:`Supervisor.run` returns 0 after such a stop, or the worker's code
(at least 1) when the policy gives up on a worker that fails again and again right after
starting. :class:`RestartPolicy` only computes (no clock, no processes): it is told how long
each run lasted.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class RestartPolicy:
    """Exponential back-off between a worker's restarts, decided from how long each run lasted.

    Delays start at ``initial`` seconds and grow by ``factor`` up to ``maximum``; a run of at
    least ``stable_after`` seconds starts again from ``initial``. ``give_up_after`` consecutive
    runs shorter than ``quick_exit`` seconds mean the worker cannot start (a bad option, a port
    in use): no more restarts.
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 30.0
    stable_after: float = 60.0
    quick_exit: float = 30.0
    give_up_after: int = 5
    next_delay: float = field(init=False)
    quick_failures: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not (0 < self.initial <= self.maximum and self.factor >= 1 and self.give_up_after >= 1):
            raise ValueError("need 0 < initial <= maximum, factor >= 1 and give_up_after >= 1")
        if not 0 <= self.quick_exit <= self.stable_after:
            raise ValueError("need 0 <= quick_exit <= stable_after")
        self.next_delay = self.initial

    def after_exit(self, uptime: float) -> float | None:
        """Seconds to wait before restarting a worker that ran ``uptime`` seconds; None: give up."""
        if uptime >= self.stable_after:
            self.next_delay = self.initial
        self.quick_failures = self.quick_failures + 1 if uptime < self.quick_exit else 0
        if self.quick_failures >= self.give_up_after:
            return None
        delay = self.next_delay
        self.next_delay = min(self.maximum, delay * self.factor)
        return delay


class StopSignals:
    """Records the first SIGINT or SIGTERM; a pipe ends any :meth:`wait` the moment one arrives."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)

    def install(self) -> StopSignals:
        """Handle the stop signals in this process (the main thread) from now on."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(signum)
        try:
            os.write(self._write, b"!")
        except BlockingIOError:
            pass  # the pipe is full of earlier wake-ups: waits end anyway

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, less if a stop signal comes; True once one has come."""
        if self.received is None and seconds > 0:
            select.select([self._read], [], [], seconds)
        return self.received is not None


def describe_exit(code: int) -> str:
    """``code 3`` or ``signal SIGKILL`` (Popen reports death by signal N as -N)."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


class Log:
    """Where the supervisor reports: progress on stdout, trouble on stderr, both ``r3edge:``-prefixed."""

    def info(self, line: str) -> None:
        print(f"r3edge: {line}", flush=True)

    def error(self, line: str) -> None:
        print(f"r3edge: error: {line}", file=sys.stderr, flush=True)


@dataclass
class Supervisor:
    """Runs ``command`` as the worker until a stop signal; see the module's description."""

    command: list[str]
    env: dict[str, str]
    policy: RestartPolicy
    signals: StopSignals
    stop_timeout: float = 30.0
    poll_interval: float = 0.2
    log: Log = field(default_factory=Log)

    def run(self) -> int:
        """Start, watch and restart the worker; 0 after a stop signal, non-zero on giving up."""
        while not self.signals.wait(0):
            started = time.monotonic()
            worker = subprocess.Popen(self.command, env=self.env)
            self.log.info(f"worker started (pid {worker.pid})")
            code = self._wait(worker)
            if code is None or self.signals.received is not None:
                return self._stop(worker)
            uptime = time.monotonic() - started
            delay = self.policy.after_exit(uptime)
            if delay is None:
                return self._give_up(code)
            self.log.info(
                f"worker (pid {worker.pid}) exited with {describe_exit(code)} after {uptime:.1f} s; "
                f"restarting it in {delay:g} s"
            )
            if self.signals.wait(delay):
                self.log.info("stopped while waiting to restart the worker")
        return 0

    def _wait(self, worker: subprocess.Popen[bytes]) -> int | None:
        """The worker's exit code, or None as soon as a stop signal arrives."""
        while (code := worker.poll()) is None:
            if self.signals.wait(self.poll_interval):
                return None
        return code

    def _stop(self, worker: subprocess.Popen[bytes]) -> int:
        """Forward the stop signal, wait up to ``stop_timeout``, then SIGKILL."""
        received = self.signals.received or signal.SIGTERM
        if worker.poll() is None:
            worker.send_signal(received)
            try:
                worker.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.log.error(
                    f"worker (pid {worker.pid}) did not stop within {self.stop_timeout:g} s "
                    f"of {received.name}; killing it"
                )
                worker.kill()
                worker.wait()
        self.log.info(f"worker (pid {worker.pid}) stopped ({describe_exit(worker.returncode)})")
        return 0

    def _give_up(self, code: int) -> int:
        self.log.error(
            f"the worker ended {self.policy.quick_failures} times in a row within "
            f"{self.policy.quick_exit:g} s of starting (last: {describe_exit(code)}); "
            "not restarting it again: its output above says why"
        )
        return code if code > 0 else 1
