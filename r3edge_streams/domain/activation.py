"""Strategy activation (pure): sessions follow strategy instances, instances need markets.

In: the current ``ActiveStrategy`` (or None) and a ``StrategyCommand``. Out: the new instance
(None when nothing changes: a repeat, or unfollowing what was not followed) and the workload
commands that go with it — the market acquired for a session that starts following, released
for one that stops. The first follower activates the instance, the last one deactivates it.
A reset starts a new generation of an existing instance (its failed window is dropped).
"""

from __future__ import annotations

from ..models import ActiveStrategy, StrategyAction, StrategyCommand, WorkloadAction, WorkloadCommand


def apply_strategy_command(
    current: ActiveStrategy | None, command: StrategyCommand
) -> tuple[ActiveStrategy, list[WorkloadCommand]] | None:
    """The instance after ``command`` and its workload commands; None if nothing changes."""
    if command.action is StrategyAction.RESET:
        return _reset(current, command)
    if command.session_id is None:
        return None  # follow/unfollow without a session: nothing to change
    sessions = list(current.sessions) if current else []
    following = command.session_id in sessions
    if command.action is StrategyAction.FOLLOW:
        if following:
            return None
        sessions = sorted([*sessions, command.session_id])
        workload = WorkloadAction.ACQUIRE
    else:
        if not following:
            return None
        sessions.remove(command.session_id)
        workload = WorkloadAction.RELEASE
    instance = ActiveStrategy(
        strategy_id=command.strategy_id,
        strategy=command.strategy,
        parameters=command.parameters,
        exchange=command.exchange,
        symbol=command.symbol,
        timeframe=command.timeframe,
        sessions=sessions,
        version=(current.version if current else 0) + 1,
        updated_at=command.at,
        generation=current.generation if current else 0,
    )
    change = WorkloadCommand(
        command_id=f"{workload.value}:{command.command_id}",
        action=workload,
        exchange=command.exchange,
        symbol=command.symbol,
        timeframe=command.timeframe,
        strategy_id=command.strategy_id,
        session_id=command.session_id,
        at=command.at,
    )
    return instance, [change]


def _reset(
    current: ActiveStrategy | None, command: StrategyCommand
) -> tuple[ActiveStrategy, list[WorkloadCommand]] | None:
    if current is None:
        return None
    return current.derive(generation=current.generation + 1, version=current.version + 1, updated_at=command.at), []
