"""What kind of failure a test had: a wrong result, a time-out, or another error.

A CI log should answer "was that slowness or lost work?" at a glance: ``failure_kind`` sorts
an exception into one of three kinds, ``summary_lines`` turns the failed tests into the short
report that tests/conftest.py prints at the end of the session.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from .patience import ENV_VAR, TimedOut, patience

WRONG = "wrong result"
TIMED_OUT = "timed out"
ERROR = "other error"
KINDS = (WRONG, TIMED_OUT, ERROR)
_LABELS = {WRONG: "WRONG RESULT", TIMED_OUT: "TIMED OUT", ERROR: "ERROR"}
_PYTEST_TIMEOUT = "from pytest-timeout"


@dataclass(frozen=True)
class Failure:
    """One failed test phase: the test's id, the phase (setup, call, teardown), kind and message."""

    nodeid: str
    when: str
    kind: str
    message: str


def failure_kind(exc: BaseException) -> str:
    """``timed out`` for a wait that ran out (``TimedOut``, pytest-timeout's limit, a process or
    socket time-out), ``wrong result`` for any other ``AssertionError``, else ``other error``."""
    if isinstance(exc, (TimedOut, TimeoutError, subprocess.TimeoutExpired)) or _pytest_timeout(exc):
        return TIMED_OUT
    if isinstance(exc, AssertionError):
        return WRONG
    return ERROR


def _pytest_timeout(exc: BaseException) -> bool:
    """pytest-timeout fails a test with ``pytest.fail("Timeout (>600.0s) from pytest-timeout.")``."""
    text = str(getattr(exc, "msg", "") or exc)
    return text.startswith("Timeout (>") and _PYTEST_TIMEOUT in text


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The exception's message, first line, cut to ``limit`` characters."""
    lines = (str(getattr(exc, "msg", "") or exc) or type(exc).__name__).splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def summary_lines(failures: list[Failure]) -> list[str]:
    """A headline counting the failures of each kind, then one line per failure."""
    counts = {kind: sum(1 for f in failures if f.kind == kind) for kind in KINDS}
    factor = f"{ENV_VAR}={patience():g}"
    if not failures:
        return [f"failures by kind: none ({factor})"]
    head = (
        f"failures by kind: {counts[WRONG]} wrong result, {counts[TIMED_OUT]} timed out (not a wrong result), "
        f"{counts[ERROR]} other error ({factor})"
    )
    ordered = sorted(failures, key=lambda f: (KINDS.index(f.kind), f.nodeid))
    return [head, *(f"  {_LABELS[f.kind]:<12} {f.nodeid} [{f.when}]: {f.message}" for f in ordered)]
