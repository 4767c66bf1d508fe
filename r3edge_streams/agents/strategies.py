"""StrategyExecutor, activation: sessions follow strategy instances, instances need markets.

Consumes ``strategycommands`` (key strategyId) into the ``active_strategies`` table (its only
writer) and produces ``workloadcommands`` (key market): acquire for a session that starts
following an instance, release for one that stops.
"""

from __future__ import annotations

from faust.types import StreamT

from ..application import app
from ..domain.activation import apply_strategy_command
from ..models import StrategyCommand
from ..streams import accepted
from ..tables.active_strategies import active_strategies
from ..topics import publish_many, strategycommands


@app.agent(strategycommands, name="activation")
async def activation_agent(stream: StreamT[bytes]) -> None:
    """Follow/unfollow: update the instance, then ask data collection for its market."""
    async for _, command in accepted(stream, "strategycommands", StrategyCommand):
        outcome = apply_strategy_command(active_strategies.get(command.strategy_id), command)
        if outcome is not None:
            instance, workload_commands = outcome
            active_strategies[command.strategy_id] = instance
            await publish_many("workloadcommands", workload_commands, confirm=False)
