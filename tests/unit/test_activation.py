"""Strategy activation: the first follower activates an instance and its market, the last ends both."""

from __future__ import annotations

from datetime import datetime, timezone

from r3edge_streams.domain.activation import apply_strategy_command
from r3edge_streams.domain.workloads import apply_workload_command
from r3edge_streams.models import ActiveStrategy, StrategyAction, StrategyCommand, Workload, WorkloadAction

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
FOLLOW, UNFOLLOW = StrategyAction.FOLLOW, StrategyAction.UNFOLLOW


def command(action: StrategyAction, session: str, strategy_id: str = "sma_cross-1") -> StrategyCommand:
    return StrategyCommand(
        command_id=f"{action}:{session}",
        action=action,
        strategy_id=strategy_id,
        session_id=session,
        strategy="sma_cross",
        parameters={"fast": 5, "slow": 20},
        exchange="replay",
        symbol="UNITTEST/BTC",
        timeframe="1m",
        at=T0,
    )


def replay(*commands: StrategyCommand) -> tuple[ActiveStrategy | None, Workload | None]:
    """Run commands through activation, and its workload commands through the workload rules."""
    instance: ActiveStrategy | None = None
    workload: Workload | None = None
    for cmd in commands:
        outcome = apply_strategy_command(instance, cmd)
        if outcome is None:
            continue
        instance, changes = outcome
        for change in changes:
            workload = apply_workload_command(workload, change) or workload
    return instance, workload


def test_followers_activate_the_instance_and_its_market() -> None:
    instance, workload = replay(command(FOLLOW, "a"), command(FOLLOW, "b"), command(FOLLOW, "a"))
    assert instance is not None and instance.active and instance.sessions == ["a", "b"] and instance.version == 2
    assert instance.market == "replay:UNITTEST/BTC:1m"
    assert workload is not None and workload.holders == {"sma_cross-1": ["a", "b"]}


def test_the_last_follower_leaving_deactivates_both() -> None:
    instance, workload = replay(
        command(FOLLOW, "a"),
        command(FOLLOW, "b"),
        command(UNFOLLOW, "a"),
        command(UNFOLLOW, "a"),
        command(UNFOLLOW, "b"),
    )
    assert instance is not None and not instance.active and instance.sessions == []
    assert workload is not None and not workload.active


def test_each_change_asks_for_exactly_one_workload_command() -> None:
    outcome = apply_strategy_command(None, command(FOLLOW, "a"))
    assert outcome is not None
    instance, [change] = outcome
    assert (change.action, change.strategy_id, change.session_id, change.market) == (
        WorkloadAction.ACQUIRE,
        "sma_cross-1",
        "a",
        "replay:UNITTEST/BTC:1m",
    )
    assert apply_strategy_command(instance, command(FOLLOW, "a")) is None
    assert apply_strategy_command(instance, command(UNFOLLOW, "zz")) is None


def test_a_reset_starts_a_new_generation_and_touches_no_market() -> None:
    instance, _ = replay(command(FOLLOW, "a"))
    assert instance is not None and instance.generation == 0
    reset = command(StrategyAction.RESET, "a").derive(session_id=None)
    outcome = apply_strategy_command(instance, reset)
    assert outcome is not None
    after, changes = outcome
    assert (after.generation, after.version, after.sessions, changes) == (1, instance.version + 1, ["a"], [])
    assert apply_strategy_command(None, reset) is None
    followed = apply_strategy_command(after, command(FOLLOW, "b"))
    assert followed is not None and followed[0].generation == 1
