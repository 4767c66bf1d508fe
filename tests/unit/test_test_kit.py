"""The test kit's waiting helpers: one patience factor scales every wait, a time-out is a distinct
``TimedOut`` with a clear message, a wrong result is a plain ``AssertionError`` that stops a wait
at once, and the session summary tells the kinds apart."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from tests.kit import workers as workers_module
from tests.kit.http import Pending, RequestTimedOut, TimedOut, request, wait_for, wait_for_async
from tests.kit.kafka import _read_to
from tests.kit.patience import ENV_VAR, TIMED_OUT, ReadTimedOut, Watch, patience, patient, scaled_timeout_marker
from tests.kit.verdicts import ERROR, WRONG, Failure, failure_kind, summary_lines
from tests.kit.verdicts import TIMED_OUT as KIND_TIMED_OUT
from tests.kit.workers import Worker, settle, settle_async

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def factor(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def set_factor(value: str) -> None:
        monkeypatch.setenv(ENV_VAR, value)

    monkeypatch.delenv(ENV_VAR, raising=False)
    return set_factor


def sequence(*results: Any) -> Callable[[], Any]:
    """A check returning ``results`` one after the other (an exception is raised), then the last."""
    queue = list(results)

    def check() -> Any:
        result = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(result, BaseException):
            raise result
        return result

    return check


def test_patience_defaults_to_one_and_reads_the_variable(factor: Callable[[str], None]) -> None:
    assert patience() == 1.0 and patient(30) == 30
    factor("2.5")
    assert patience() == 2.5 and patient(30) == 75
    for bad in ("fast", "0", "-1", "inf"):
        factor(bad)
        with pytest.raises(ValueError, match=ENV_VAR):
            patience()


def test_the_patience_factor_scales_the_timeout(factor: Callable[[str], None]) -> None:
    factor("4")
    started = time.monotonic()
    with pytest.raises(TimedOut) as caught:
        wait_for(lambda: False, timeout=0.25, interval=0.05, what="nothing")
    elapsed = time.monotonic() - started
    assert caught.value.limit == pytest.approx(1.0) and caught.value.factor == 4
    assert 1.0 <= elapsed < 6.0


def test_a_time_out_raises_the_distinct_error_with_its_wording(factor: Callable[[str], None]) -> None:
    factor("2")
    with pytest.raises(TimedOut) as caught:
        wait_for(lambda: Pending("3 of 10 candles"), timeout=0.2, interval=0.05, what="ten candles")
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError) and message.startswith(TIMED_OUT)
    assert message.startswith("TIMED OUT (not a wrong result): waited ")
    assert "limit 0.4s = 0.2s x patience 2" in message and ENV_VAR in message
    assert "for ten candles" in message and "last value seen: <pending: 3 of 10 candles>" in message
    assert "did not change during the wait" in message
    assert caught.value.last == Pending("3 of 10 candles") and caught.value.waited >= 0.4


def test_a_value_still_changing_at_the_end_is_reported_as_moving() -> None:
    counter = iter(range(1_000_000))
    with pytest.raises(TimedOut, match="still moving: probably slowness"):
        wait_for(lambda: Pending(f"{next(counter)} candles"), timeout=0.3, interval=0.05)


def test_a_check_that_turns_truthy_returns_its_value() -> None:
    assert wait_for(sequence(None, 0, [], {"done": True}), timeout=5, interval=0.01) == {"done": True}
    assert asyncio.run(wait_for_async(_async(sequence(None, "ready")), timeout=5, interval=0.01)) == "ready"


def test_a_check_is_called_at_least_once_even_with_no_time_left() -> None:
    assert wait_for(lambda: "at once", timeout=0) == "at once"


def test_a_wrong_result_propagates_at_once_without_waiting_out_the_timeout() -> None:
    def wrong() -> bool:
        raise AssertionError("the balance is 7, not 8")

    started = time.monotonic()
    with pytest.raises(AssertionError, match="the balance is 7") as caught:
        wait_for(wrong, timeout=60)
    with pytest.raises(AssertionError, match="the balance is 7") as caught_async:
        asyncio.run(wait_for_async(_async(wrong), timeout=60))
    assert time.monotonic() - started < 5
    assert not isinstance(caught.value, TimedOut) and not isinstance(caught_async.value, TimedOut)


def test_wait_for_retries_connection_errors_and_wait_for_async_does_not() -> None:
    flaky = sequence(ConnectionRefusedError(), urllib.error.URLError("down"), "up")
    assert wait_for(flaky, timeout=5, interval=0.01) == "up"
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(wait_for_async(_async(sequence(ConnectionRefusedError(), "up")), timeout=5, interval=0.01))


def test_wait_for_reports_the_last_error_seen_when_it_times_out() -> None:
    with pytest.raises(TimedOut, match="last value seen: ConnectionRefusedError"):
        wait_for(sequence(ConnectionRefusedError("refused")), timeout=0.2, interval=0.05, what="the worker")


def test_wait_for_async_times_out_with_the_distinct_error(factor: Callable[[str], None]) -> None:
    factor("3")
    with pytest.raises(TimedOut, match=r"limit 0.3s = 0.1s x patience 3.*for the feed"):
        asyncio.run(wait_for_async(_async(lambda: None), timeout=0.1, interval=0.02, what="the feed"))


def test_a_kafka_read_that_misses_its_end_offsets_times_out_as_both_kinds(factor: Callable[[str], None]) -> None:
    factor("2")
    end = {TopicPartition("t.signals", 0): 5}
    started = time.monotonic()
    with pytest.raises(ReadTimedOut, match=r"0 of 5 records read") as caught:
        asyncio.run(_read_to(_SilentConsumer(), end, Watch(0.2, "the records of t.signals")))
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, TimedOut)
    assert time.monotonic() - started >= 0.4


def test_a_request_without_an_answer_times_out_and_is_still_retried_by_wait_for(factor: Callable[[str], None]) -> None:
    factor("2")
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/health"
        started = time.monotonic()
        with pytest.raises(RequestTimedOut, match=r"limit 0.4s = 0.2s x patience 2.*an answer to GET http") as caught:
            request("GET", url, timeout=0.2)
        assert isinstance(caught.value, TimeoutError) and time.monotonic() - started >= 0.4
        with pytest.raises(TimedOut, match="last value seen: RequestTimedOut"):
            wait_for(lambda: request("GET", url, timeout=0.2), timeout=0.5, interval=0.05)


def test_workers_wait_for_the_agent_with_the_same_patience(factor: Callable[[str], None], tmp_path: Path) -> None:
    worker = Worker("kafka://127.0.0.1:1", tmp_path, "p")
    assert worker.env()["R3EDGE_COMMAND_WAIT"] == "10.0"
    factor("3")
    assert worker.env()["R3EDGE_COMMAND_WAIT"] == "30.0"
    assert (
        Worker("kafka://127.0.0.1:1", tmp_path, "p", extra_env={"R3EDGE_COMMAND_WAIT": "1"}).env()[
            "R3EDGE_COMMAND_WAIT"
        ]
        == "1"
    )  # a test's own setting wins


def test_settle_is_scaled(factor: Callable[[str], None], monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(workers_module.time, "sleep", slept.append)
    factor("2")
    settle(1.5)
    started = time.monotonic()
    asyncio.run(settle_async(0.1))
    assert slept == [3.0] and time.monotonic() - started >= 0.2


@pytest.fixture
def lingering(tmp_path: Path) -> Iterator[Worker]:
    worker = Worker("kafka://127.0.0.1:1", tmp_path, "p")
    worker.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    yield worker
    worker.kill()


def test_a_worker_that_does_not_exit_in_time_is_a_time_out(lingering: Worker, factor: Callable[[str], None]) -> None:
    factor("2")
    with pytest.raises(TimedOut, match=r"limit 0.6s = 0.3s x patience 2.*to exit; last value seen: 'still running'"):
        lingering.wait_exit(0.3)
    lingering.kill()
    assert lingering.wait_exit(1) == -9


def test_failures_are_sorted_into_kinds() -> None:
    with pytest.raises(pytest.fail.Exception) as limit:
        pytest.fail("Timeout (>600.0s) from pytest-timeout.")
    assert failure_kind(TimedOut("x", 1, 1)) == KIND_TIMED_OUT
    assert failure_kind(limit.value) == KIND_TIMED_OUT
    assert failure_kind(subprocess.TimeoutExpired("faust", 120)) == KIND_TIMED_OUT
    assert failure_kind(ReadTimedOut("t", 1, 1)) == KIND_TIMED_OUT
    assert failure_kind(AssertionError("assert 7 == 8")) == WRONG
    assert failure_kind(KeyError("feed")) == ERROR


def test_the_summary_separates_wrong_results_from_time_outs() -> None:
    failures = [
        Failure("t.py::b", "call", KIND_TIMED_OUT, "TIMED OUT (not a wrong result): ..."),
        Failure("t.py::a", "call", WRONG, "assert 7 == 8"),
        Failure("t.py::c", "setup", ERROR, "KeyError"),
    ]
    head, *lines = summary_lines(failures)
    assert head.startswith("failures by kind: 1 wrong result, 1 timed out (not a wrong result), 1 other error")
    assert [line.split()[0] for line in lines] == ["WRONG", "TIMED", "ERROR"]
    assert summary_lines([])[0].startswith("failures by kind: none")


def test_the_per_test_limit_is_scaled_from_a_marker_or_the_default() -> None:
    assert scaled_timeout_marker((), {}, 600.0, 2) == ((), {"timeout": 1200.0})
    assert scaled_timeout_marker((30, "thread"), {}, 600.0, 2) == ((60.0, "thread"), {})
    assert scaled_timeout_marker((), {"timeout": 5, "method": "signal"}, 600.0, 3) == (
        (),
        {"timeout": 15.0, "method": "signal"},
    )
    assert scaled_timeout_marker((), {"method": "thread"}, 10.0, 2) == ((), {"method": "thread", "timeout": 20.0})
    assert scaled_timeout_marker((), {}, None, 2) is None and scaled_timeout_marker((0,), {}, 600.0, 2) is None


SAMPLE = """
import time
from tests.kit.http import wait_for

def test_slow():
    time.sleep(5)

def test_wrong():
    assert 7 == 8

def test_waits():
    wait_for(lambda: None, 0.2, what="nothing")

def test_fine():
    pass
"""


def test_the_session_ends_with_failures_by_kind_and_the_limit_scaled(tmp_path: Path) -> None:
    """The hooks of tests/conftest.py in a pytest of their own: limit 0.5 s x patience 2."""
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {"PYTHONPATH": str(PROJECT), ENV_VAR: "2", "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "-o",
            "timeout=0.5",
            "test_sample.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert f"patience: {ENV_VAR}=2" in out and "Timeout (>1.0s) from pytest-timeout." in out
    assert "failures by kind: 1 wrong result, 2 timed out (not a wrong result), 0 other error" in out
    assert "WRONG RESULT test_sample.py::test_wrong [call]: assert 7 == 8" in out
    assert "TIMED OUT    test_sample.py::test_waits [call]: TIMED OUT (not a wrong result)" in out


def _async(check: Callable[[], Any]) -> Callable[[], Any]:
    async def run() -> Any:
        return check()

    return run


class _SilentConsumer:
    """A consumer whose partitions never deliver."""

    async def getmany(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Any]]:
        await asyncio.sleep(0.02)
        return {}
