"""Workloads: which strategy instances and sessions need a market collected (pure).

In: the current ``Workload`` of a market (or None) and a ``WorkloadCommand``.
Out: the new workload, or None when the command changes nothing (a repeat, or a release of
something not held). A market is collected while its workload has holders.
"""

from __future__ import annotations

from ..models import Workload, WorkloadAction, WorkloadCommand


def apply_workload_command(current: Workload | None, command: WorkloadCommand) -> Workload | None:
    """The workload after ``command``; None if nothing changes."""
    holders = {strategy: list(sessions) for strategy, sessions in (current.holders if current else {}).items()}
    sessions = holders.get(command.strategy_id, [])
    if command.action is WorkloadAction.ACQUIRE:
        if command.session_id in sessions:
            return None
        holders[command.strategy_id] = sorted([*sessions, command.session_id])
    else:
        if command.session_id not in sessions:
            return None
        remaining = [session for session in sessions if session != command.session_id]
        if remaining:
            holders[command.strategy_id] = remaining
        else:
            del holders[command.strategy_id]
    return Workload(
        exchange=command.exchange,
        symbol=command.symbol,
        timeframe=command.timeframe,
        holders=holders,
        version=(current.version if current else 0) + 1,
        updated_at=command.at,
    )
