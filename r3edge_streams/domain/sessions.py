"""Sessions: validate what a trader asks for and apply session commands to session state (pure).

In: a ``SessionSpec`` or a ``SessionCommand`` and the current ``SessionState`` (or None).
Out: field errors, or a decision: ``Applied`` (new state), ``Unchanged`` (a repeat), ``Rejected``;
and the strategy commands a transition implies (a session entering or leaving ``active``).
Time comes from the command (``issued_at``), never from a clock.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Callable, Optional, Union

from ..models import (
    CommandKind,
    SessionCommand,
    SessionMode,
    SessionSpec,
    SessionState,
    SessionStatus,
    StrategyAction,
    StrategyCommand,
)
from .markets import exchange_error, symbol_error, timeframe_error

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_STRATEGY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_REFRESH_SECONDS = 86_400
MAX_PARAMETERS = 64


@dataclass(frozen=True)
class FieldError:
    """One invalid field of a request."""

    field: str
    message: str


@dataclass(frozen=True)
class Applied:
    """The command changed the session: write ``state``."""

    state: SessionState


@dataclass(frozen=True)
class Unchanged:
    """The command was already applied (a redelivery or a client retry): nothing to write."""

    state: SessionState


@dataclass(frozen=True)
class Rejected:
    """The command cannot be applied; ``reason`` says why."""

    reason: str


Decision = Union[Applied, Unchanged, Rejected]


def session_id_error(session_id: str) -> str | None:
    """Why ``session_id`` is not a valid session id, or None."""
    if SESSION_ID_RE.match(session_id):
        return None
    return "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"


def create_command_id(session_id: str) -> str:
    """The command id of a session's creation: one per session, so a retried create is a repeat."""
    return f"create:{session_id}"


#: checks a spec's strategy and parameters (the strategy registry, given by the application)
StrategyCheck = Callable[[SessionSpec], Optional[FieldError]]


def spec_errors(spec: SessionSpec, allowed_modes: frozenset[SessionMode],
                strategy_check: StrategyCheck | None = None) -> list[FieldError]:
    """Every problem of ``spec``; empty when the session may be created in this deployment."""
    checks = [
        ("strategy", None if _STRATEGY_RE.match(spec.strategy) else "must be a strategy name such as 'sma_cross'"),
        ("exchange", exchange_error(spec.exchange)),
        ("symbol", symbol_error(spec.symbol)),
        ("timeframe", timeframe_error(spec.timeframe)),
        ("mode", _mode_error(spec.mode, allowed_modes)),
        ("refresh_seconds", _refresh_error(spec.refresh_seconds)),
        ("parameters", _parameters_error(spec.parameters)),
    ]
    errors = [FieldError(field, message) for field, message in checks if message]
    if not errors and strategy_check is not None:
        errors += [error for error in [strategy_check(spec)] if error is not None]
    return errors


def _mode_error(mode: SessionMode, allowed: frozenset[SessionMode]) -> str | None:
    if mode in allowed:
        return None
    return f"mode {mode.value!r} is not enabled in this deployment (enabled: {', '.join(sorted(allowed))})"


def _refresh_error(seconds: int) -> str | None:
    if 1 <= seconds <= MAX_REFRESH_SECONDS:
        return None
    return f"must be between 1 and {MAX_REFRESH_SECONDS} seconds"


def _parameters_error(parameters: dict[str, object]) -> str | None:
    if len(parameters) > MAX_PARAMETERS:
        return f"at most {MAX_PARAMETERS} parameters"
    return None


def apply_command(
    current: SessionState | None, command: SessionCommand, allowed_modes: frozenset[SessionMode],
    strategy_check: StrategyCheck | None = None,
) -> Decision:
    """Decide what ``command`` does to the session whose state is ``current``."""
    if session_id_error(command.session_id):
        return Rejected(f"invalid session id {command.session_id!r}")
    if command.kind is CommandKind.CREATE:
        return _create(current, command, allowed_modes, strategy_check)
    return _transition(current, command)


#: command -> (statuses it applies to, status it leads to)
TRANSITIONS: dict[CommandKind, tuple[frozenset[SessionStatus], SessionStatus]] = {
    CommandKind.START: (frozenset({SessionStatus.CREATED}), SessionStatus.ACTIVE),
    CommandKind.STOP: (frozenset({SessionStatus.CREATED, SessionStatus.ACTIVE}), SessionStatus.STOPPED),
}


def _transition(current: SessionState | None, command: SessionCommand) -> Decision:
    if current is None:
        return Rejected(f"no session {command.session_id}")
    sources, target = TRANSITIONS[command.kind]
    if current.status is target:
        return Unchanged(current)
    if current.status not in sources:
        return Rejected(f"cannot {command.kind.value} a session that is {current.status.value}")
    return Applied(
        SessionState(
            session_id=current.session_id,
            spec=current.spec,
            status=target,
            version=current.version + 1,
            created_at=current.created_at,
            updated_at=command.issued_at,
            last_command_id=command.command_id,
        )
    )


def strategy_instance_id(spec: SessionSpec) -> str:
    """The id of the strategy instance a session follows: equal specs share one instance."""
    identity = json.dumps([spec.strategy, spec.parameters, spec.exchange, spec.symbol, spec.timeframe],
                          sort_keys=True, separators=(",", ":"), default=str)
    return f"{spec.strategy}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def strategy_changes(before: SessionState | None, after: SessionState) -> list[StrategyCommand]:
    """What a transition asks of the strategy instance: follow on entering active, unfollow on leaving."""
    was_active = before is not None and before.status is SessionStatus.ACTIVE
    is_active = after.status is SessionStatus.ACTIVE
    if was_active == is_active:
        return []
    action = StrategyAction.FOLLOW if is_active else StrategyAction.UNFOLLOW
    spec = after.spec
    return [StrategyCommand(command_id=f"{action.value}:{after.session_id}:v{after.version}", action=action,
                            strategy_id=strategy_instance_id(spec), session_id=after.session_id,
                            strategy=spec.strategy, parameters=spec.parameters, exchange=spec.exchange,
                            symbol=spec.symbol, timeframe=spec.timeframe, at=after.updated_at)]


def _create(current: SessionState | None, command: SessionCommand, allowed: frozenset[SessionMode],
            strategy_check: StrategyCheck | None) -> Decision:
    spec = command.spec
    if spec is None:
        return Rejected("a create command needs a spec")
    if current is not None:
        if current.last_command_id == command.command_id and current.spec == spec:
            return Unchanged(current)
        return Rejected(f"session {command.session_id} already exists")
    errors = spec_errors(spec, allowed, strategy_check)
    if errors:
        return Rejected("; ".join(f"{error.field}: {error.message}" for error in errors))
    return Applied(
        SessionState(
            session_id=command.session_id,
            spec=spec,
            status=SessionStatus.CREATED,
            version=1,
            created_at=command.issued_at,
            updated_at=command.issued_at,
            last_command_id=command.command_id,
        )
    )


def allowed_modes(live_enabled: bool) -> frozenset[SessionMode]:
    """Session modes a deployment accepts: live only where live trading was switched on."""
    modes = {SessionMode.BACKTEST, SessionMode.PAPER}
    if live_enabled:
        modes.add(SessionMode.LIVE)
    return frozenset(modes)
