"""The test kit's waiting helpers: one patience factor scales every wait, a time-out is a distinct
``TimedOut`` with a clear message, a wrong result is a plain ``AssertionError`` that stops a wait
at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.error
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from aiokafka import TopicPartition

from tests.kit import workers as workers_module
from tests.kit.http import Pending, TimedOut, wait_for, wait_for_async
from tests.kit.kafka import _read_to
from tests.kit.patience import ENV_VAR, TIMED_OUT, ReadTimedOut, Watch, patience, patient
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
        asyncio.run(_read_to(_SilentConsumer(), end, Watch(0.2, "the records of t.signals")))  # type: ignore[arg-type]
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, TimedOut)
    assert time.monotonic() - started >= 0.4


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


def _async(check: Callable[[], Any]) -> Callable[[], Any]:
    async def run() -> Any:
        return check()

    return run


class _SilentConsumer:
    """A consumer whose partitions never deliver."""

    async def getmany(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Any]]:
        await asyncio.sleep(0.02)
        return {}
