"""The run command's restart policy: back-off delays, their reset, and giving up on a worker that cannot start.

In: the uptimes of successive worker runs. Out: the delay before each restart (1 s doubling to
30 s by default), the first delay again after a run that stayed up, None (give up) after five
quick runs in a row; nothing else (no clock, no processes).
"""

from __future__ import annotations

import pytest

from r3edge_streams.supervisor import RestartPolicy, describe_exit


def delays(policy: RestartPolicy, uptimes: list[float]) -> list[float | None]:
    return [policy.after_exit(uptime) for uptime in uptimes]


def test_delays_double_from_one_second_up_to_thirty() -> None:
    policy = RestartPolicy(give_up_after=100)
    assert delays(policy, [45.0] * 8) == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_worker_that_stayed_up_restarts_after_the_first_delay_again() -> None:
    policy = RestartPolicy()
    assert delays(policy, [40.0, 40.0, 40.0]) == [1, 2, 4]
    assert policy.after_exit(60.0) == 1  # up for stable_after: the back-off starts over
    assert delays(policy, [40.0, 3600.0, 40.0]) == [2, 1, 2]


def test_five_quick_failures_in_a_row_give_up() -> None:
    policy = RestartPolicy()
    assert delays(policy, [2.0, 2.0, 2.0, 2.0]) == [1, 2, 4, 8]
    assert policy.after_exit(2.0) is None
    assert policy.quick_failures == 5


def test_a_run_that_was_not_quick_breaks_the_series_of_quick_failures() -> None:
    policy = RestartPolicy()
    assert delays(policy, [2.0, 2.0, 2.0, 2.0, 31.0, 2.0, 2.0, 2.0, 2.0]) == [1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert policy.after_exit(2.0) is None


def test_limits_are_configurable() -> None:
    policy = RestartPolicy(initial=0.5, factor=3, maximum=5, stable_after=10, quick_exit=1, give_up_after=2)
    assert delays(policy, [5.0, 5.0, 5.0, 10.0, 0.5]) == [0.5, 1.5, 4.5, 0.5, 1.5]
    assert policy.after_exit(0.5) is None


def test_delays_never_overflow_however_many_restarts() -> None:
    policy = RestartPolicy(give_up_after=1_000_000)
    assert delays(policy, [45.0] * 5000)[-1] == 30


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0},
        {"initial": 60, "maximum": 30},
        {"factor": 0.5},
        {"give_up_after": 0},
        {"quick_exit": 120, "stable_after": 60},
        {"quick_exit": -1},
    ],
)
def test_inconsistent_limits_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(**kwargs)  # type: ignore[arg-type]


def test_exit_codes_are_described_as_codes_or_signals() -> None:
    assert describe_exit(0) == "code 0"
    assert describe_exit(3) == "code 3"
    assert describe_exit(-9) == "signal SIGKILL"
    assert describe_exit(-200) == "signal 200"
