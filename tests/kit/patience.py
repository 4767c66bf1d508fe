"""How long the suite waits, from one setting, and how a wait that runs out fails.

``TEST_PATIENCE`` (a positive float, default 1) multiplies every wait of the suite:
``wait_for``/``wait_for_async``, a worker's readiness and exit, HTTP and Kafka reads, the
embedded broker's start, the test workers' ``R3EDGE_COMMAND_WAIT``, the per-test limit of
pytest-timeout and ``settle``. A slow or busy machine raises it (2 means
"everything may take twice as long"); it never changes what a test asserts. It is no
``R3EDGE_*`` name on purpose: the application refuses unknown ``R3EDGE_*`` variables, in a
worker and in the test process that imports it.

A wait that runs out raises ``TimedOut``, an ``AssertionError`` whose message starts with
``TIMED OUT (not a wrong result)``; a wrong result stays a plain ``AssertionError``. The
message says how long the wait lasted, the patience factor, what it waited for, the last value
seen and whether that value was still changing near the end (still moving: probably slowness;
stuck for long: probably lost work).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

ENV_VAR = "TEST_PATIENCE"
TIMED_OUT = "TIMED OUT (not a wrong result)"
_REPR_LIMIT = 600


def patience() -> float:
    """The factor from ``TEST_PATIENCE`` (read on each call; default 1)."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{ENV_VAR} must be a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{ENV_VAR} must be a positive finite number, got {text!r}")
    return value


def patient(seconds: float) -> float:
    """``seconds`` scaled by the patience factor."""
    return seconds * patience()


def scaled_timeout_marker(
    args: tuple[Any, ...], kwargs: dict[str, Any], default: float | None, factor: float
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """A pytest-timeout ``timeout`` marker's arguments (``args``/``kwargs``, empty for a test
    without one) with its limit, or else ``default``, times ``factor``; None when no limit applies."""
    limit = args[0] if args else kwargs.get("timeout", default)
    if limit is None or float(limit) <= 0:
        return None
    if args:
        return (float(limit) * factor, *args[1:]), dict(kwargs)
    return (), {**kwargs, "timeout": float(limit) * factor}


def short_repr(value: Any) -> str:
    """``repr(value)``, cut to a length a test report can show."""
    text = repr(value)
    return text if len(text) <= _REPR_LIMIT else f"{text[:_REPR_LIMIT]}... ({len(text)} characters)"


class TimedOut(AssertionError):
    """A wait ran out of time: the suite did not see the expected state in time (not a wrong
    result). ``AssertionError`` so that pytest reports it as a failure, like before."""

    def __init__(
        self, what: str, waited: float, limit: float, last: Any = None, still_for: float | None = None, changes: int = 0
    ) -> None:
        """``still_for``: seconds since the value seen last changed; ``changes``: how often it did."""
        self.what, self.waited, self.limit, self.last = what, waited, limit, last
        self.still_for, self.changes = still_for, changes
        self.factor = patience()
        super().__init__(self._message())

    def _message(self) -> str:
        base = self.limit / self.factor
        text = (
            f"{TIMED_OUT}: waited {_seconds(self.waited)} (limit {_seconds(self.limit)} = {_seconds(base)} "
            f"x patience {self.factor:g}, {ENV_VAR}) for {self.what}; last value seen: {short_repr(self.last)}"
        )
        return text + self._motion()

    def _motion(self) -> str:
        """A hint from how the last value moved: still changing near the end, or stuck."""
        if self.still_for is None:
            return ""
        if self.last is None or self.last is False:
            return "; the check reports no progress (a Pending(...) result would show how far it got)"
        if self.changes == 0:
            return "; it did not change during the wait (nothing moved: lost work, or it never started?)"
        if self.still_for < max(5.0, self.waited / 10):
            return (
                f"; it last changed {_seconds(self.still_for)} before the end (still moving: probably "
                f"slowness; a higher {ENV_VAR} would tell)"
            )
        return f"; it had not changed for the last {_seconds(self.still_for)} (stalled: lost work, or very slow?)"


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"


class ReadTimedOut(TimedOut, TimeoutError):
    """A Kafka read that did not reach the end offsets in time; also a ``TimeoutError``, which
    ``read_all`` raised before this class existed."""


@dataclass(frozen=True)
class Pending:
    """A falsy check result that says how far things got ("8 of 10 candles"): a check returns it
    instead of None so that a time-out reports the progress as the last value seen."""

    detail: str

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<pending: {self.detail}>"


class Watch:
    """The clock and the memory of one wait: its deadline, the last value seen and when it changed."""

    def __init__(self, timeout: float, what: str) -> None:
        self.what = what
        self.limit = patient(timeout)
        self.started = time.monotonic()
        self.deadline = self.started + self.limit
        self.last: Any = None
        self._last_repr: str | None = None
        self.changed_at = self.started
        self.changes = -1  # the first value seen is no change

    def saw(self, value: Any) -> None:
        """Remember ``value`` as the latest result of the check."""
        text = short_repr(value)
        if text != self._last_repr:
            self._last_repr, self.changed_at = text, time.monotonic()
            self.changes += 1
        self.last = value

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def timed_out(self, kind: type[TimedOut] = TimedOut) -> TimedOut:
        """The error to raise now that the deadline has passed."""
        now = time.monotonic()
        return kind(self.what, now - self.started, self.limit, self.last, now - self.changed_at, max(self.changes, 0))
