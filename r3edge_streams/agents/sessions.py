"""SessionManager agent: applies session commands to the ``sessions`` table.

Consumes ``sessioncommands`` (key sessionId). Owns (sole writer) the ``sessions`` table.
Produces ``strategycommands`` when a session starts or stops following a strategy instance,
``backtestjobs`` when a backtest session with a range starts (the driver runs it),
``notifications`` when a command is rejected or a session stops or fails, and
``deadletters`` for malformed commands. Settles the outcome of each command for a view of
this worker that waits for it.
"""

from __future__ import annotations

import logging

from faust.types import StreamT

from ..application import app
from ..catalogue import BACKTESTJOBS, NOTIFICATIONS, SESSIONCOMMANDS, SESSIONSREQUEST, STRATEGYCOMMANDS
from ..domain.notices import command_rejected, session_ended, status_request
from ..domain.sessions import Applied, Deleted, Rejected, apply_command, backtest_job, strategy_changes
from ..models import SessionCommand, SessionStatus
from ..services import SESSION_MODES, check_spec, session_outcomes
from ..streams import consume
from ..tables.sessions import sessions
from ..topics import channel, publish, publish_many

log = logging.getLogger(__name__)
_ENDED = frozenset({SessionStatus.STOPPED, SessionStatus.FAILED})


@app.agent(channel(SESSIONCOMMANDS), name="sessions")
async def session_agent(stream: StreamT[bytes]) -> None:
    """Read a command, decide with the pure core, write the table or report the rejection."""
    await consume(stream, SESSIONCOMMANDS, take_session_command)


async def take_session_command(command: SessionCommand) -> None:
    before = sessions.get(command.session_id)
    decision = apply_command(before, command, SESSION_MODES, check_spec)
    if isinstance(decision, Applied):
        # effects first, confirmed, then the table: a crash in between repeats the effects
        # (idempotent downstream) instead of recording a change whose effects were lost
        await publish_many(STRATEGYCOMMANDS, strategy_changes(before, decision.state))
        told = status_request(before, decision.state)
        if told is not None:
            await publish(SESSIONSREQUEST, told)
        job = backtest_job(before, decision.state)
        if job is not None:
            await publish(BACKTESTJOBS, job)  # a ranged backtest session is run by the driver
        if decision.state.status in _ENDED and (before is None or before.status is not decision.state.status):
            await publish(NOTIFICATIONS, session_ended(decision.state))
        sessions[command.session_id] = decision.state
    elif isinstance(decision, Deleted) and decision.previous is not None:
        await publish_many(STRATEGYCOMMANDS, strategy_changes(decision.previous, None))
        del sessions[command.session_id]
    elif isinstance(decision, Rejected):
        log.info("session command %s rejected: %s", command.command_id, decision.reason)
        await publish(NOTIFICATIONS, command_rejected(command, decision.reason))
    session_outcomes.settle(command.command_id, decision)
