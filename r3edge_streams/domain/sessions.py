"""Sessions: validate what a trader asks for and apply session commands to session state (pure).

In: a ``SessionSpec`` or a ``SessionCommand`` and the current ``SessionState`` (or None).
Out: field errors, or a decision: ``Applied`` (new state), ``Unchanged`` (a repeat), ``Deleted``,
``Rejected`` (with the reason); and the strategy commands a change implies (a session starting
or ceasing to follow a strategy instance). Time comes from the command (``issued_at``), never
from a clock. The lifecycle::

    created --start--> active <--suspend/recover--> suspended
    created|active|suspended|failed --stop--> stopped;  active|suspended --fail--> failed
    failed --recover--> active;  created|stopped|failed --delete--> (gone)
    modify: any but stopped, a new spec version (mode fixed while following)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..models import (
    BacktestJob,
    CommandKind,
    SessionCommand,
    SessionMode,
    SessionSpec,
    SessionState,
    SessionStatus,
    SizingMethod,
    StrategyAction,
    StrategyCommand,
)
from .markets import exchange_error, symbol_error, timeframe_error
from .values import value

SESSION_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_STRATEGY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_REFRESH_SECONDS = 86_400
MAX_PARAMETERS = 64
MAX_DURATION_SECONDS = 366 * 86_400
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@value
class FieldError:
    """One invalid field of a request."""

    field: str
    message: str


@value
class Applied:
    """The command changed the session: write ``state``."""

    state: SessionState


@value
class Unchanged:
    """The command was already applied (a redelivery or a client retry): nothing to write."""

    state: SessionState


@value
class Rejected:
    """The command cannot be applied; ``reason`` says why, ``field`` what it is about."""

    reason: str
    field: str = "status"


@value
class Deleted:
    """The session is to be removed (``previous`` None: it was gone already, nothing to do)."""

    previous: SessionState | None


Decision = Applied | Unchanged | Rejected | Deleted


def session_id_error(session_id: str) -> str | None:
    """Why ``session_id`` is not a valid session id, or None."""
    if SESSION_ID_RE.match(session_id):
        return None
    return "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"


def create_command_id(session_id: str) -> str:
    """The command id of a session's creation: one per session, so a retried create is a repeat."""
    return f"create:{session_id}"


#: checks a spec's strategy and parameters (the strategy registry, given by the application)
StrategyCheck = Callable[[SessionSpec], FieldError | None]


def spec_errors(
    spec: SessionSpec, allowed_modes: frozenset[SessionMode], strategy_check: StrategyCheck | None = None
) -> list[FieldError]:
    """Every problem of ``spec``; empty when the session may be created in this deployment."""
    checks = [
        ("strategy", None if _STRATEGY_RE.match(spec.strategy) else "must be a strategy name such as 'sma_cross'"),
        ("exchange", exchange_error(spec.exchange)),
        ("symbol", symbol_error(spec.symbol)),
        ("timeframe", timeframe_error(spec.timeframe)),
        ("mode", _mode_error(spec.mode, allowed_modes)),
        ("refresh_seconds", _refresh_error(spec.refresh_seconds)),
        ("parameters", _parameters_error(spec.parameters)),
        ("account", _account_error(spec)),
        ("backtest", _backtest_error(spec)),
        *_risk_errors(spec),
        *_auto_stop_errors(spec),
    ]
    errors = [FieldError(field, message) for field, message in checks if message]
    if not errors and strategy_check is not None:
        errors += [error for error in [strategy_check(spec)] if error is not None]
    return errors


def _backtest_error(spec: SessionSpec) -> str | None:
    if spec.backtest is None:
        return None
    if spec.mode is not SessionMode.BACKTEST:
        return "only a backtest session has a range (mode backtest)"
    if spec.backtest.start >= spec.backtest.end:
        return "start must be before end"
    return None


def _account_error(spec: SessionSpec) -> str | None:
    if spec.account is None:
        return "a live session needs the name of an exchange account" if spec.mode is SessionMode.LIVE else None
    if not _ACCOUNT_RE.match(spec.account):
        return "must be an account name (1-64 letters, digits, '_', '.' or '-')"
    return None


def _between(value: Decimal | None, low: Decimal, high: Decimal) -> str | None:
    """None if ``value`` is unset or in (low, high]."""
    if value is None or low < value <= high:
        return None
    return f"must be above {low} and at most {high}"


def _risk_errors(spec: SessionSpec) -> list[tuple[str, str | None]]:
    risk = spec.risk
    return [
        ("risk.capital", _between(risk.capital, Decimal(0), Decimal("1e15"))),
        ("risk.risk_per_trade", _between(risk.risk_per_trade, Decimal(0), Decimal(1))),
        ("risk.max_position_fraction", _between(risk.max_position_fraction, Decimal(0), Decimal(1))),
        ("risk.stop_loss_pct", _between(risk.stop_loss_pct, Decimal(0), Decimal(100))),
        ("risk.take_profit_pct", _between(risk.take_profit_pct, Decimal(0), Decimal(10_000))),
        ("risk.max_open_positions", None if 1 <= risk.max_open_positions <= 100 else "must be between 1 and 100"),
        ("risk.position_fraction", _between(risk.position_fraction, Decimal(0), Decimal(1))),
        ("risk.trailing_stop_pct", _between(risk.trailing_stop_pct, Decimal(0), Decimal(100))),
        ("risk.stop_loss_pct", _stop_needed(spec)),
        ("risk.allow_short", "the engine trades spot markets, which cannot be shorted" if risk.allow_short else None),
        ("fills.fee_bps", _at_least_zero(spec.fills.fee_bps, Decimal(1000))),
        ("fills.slippage_bps", _at_least_zero(spec.fills.slippage_bps, Decimal(1000))),
    ]


def _stop_needed(spec: SessionSpec) -> str | None:
    """Risk sizing divides by the stop distance: it needs one."""
    if spec.risk.sizing is SizingMethod.RISK and spec.risk.stop_loss_pct is None:
        return "sizing 'risk' sizes each entry over the stop distance: set stop_loss_pct"
    return None


def _at_least_zero(value: Decimal, high: Decimal) -> str | None:
    return None if Decimal(0) <= value <= high else f"must be between 0 and {high}"


def _auto_stop_errors(spec: SessionSpec) -> list[tuple[str, str | None]]:
    auto = spec.auto_stop
    duration = auto.max_duration_seconds
    return [
        (
            "auto_stop.max_duration_seconds",
            None
            if duration is None or 1 <= duration <= MAX_DURATION_SECONDS
            else f"must be between 1 and {MAX_DURATION_SECONDS} seconds",
        ),
        ("auto_stop.loss_limit", _between(auto.loss_limit, Decimal(0), Decimal("1e15"))),
        ("auto_stop.gain_target", _between(auto.gain_target, Decimal(0), Decimal("1e15"))),
    ]


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
    current: SessionState | None,
    command: SessionCommand,
    allowed_modes: frozenset[SessionMode],
    strategy_check: StrategyCheck | None = None,
) -> Decision:
    """Decide what ``command`` does to the session whose state is ``current``."""
    if session_id_error(command.session_id):
        return Rejected(f"invalid session id {command.session_id!r}", "session_id")
    if command.kind is CommandKind.CREATE:
        return _create(current, command, allowed_modes, strategy_check)
    if command.kind is CommandKind.DELETE and current is None:
        return Deleted(None)  # gone already: a repeat
    if current is None:
        return Rejected(f"no session {command.session_id}", "session_id")
    if current.last_command_id == command.command_id:
        return Unchanged(current)  # a redelivery of the command that made this state
    if command.expected_version is not None and command.expected_version != current.version:
        return Rejected(
            f"version conflict: the session is at version {current.version}, not {command.expected_version}",
            "expected_version",
        )
    if command.kind is CommandKind.MODIFY:
        return _modify(current, command, allowed_modes, strategy_check)
    if command.kind is CommandKind.DELETE:
        return _delete(current)
    return _transition(current, command)


#: command -> (statuses it applies to, status it leads to)
TRANSITIONS: dict[CommandKind, tuple[frozenset[SessionStatus], SessionStatus]] = {
    CommandKind.START: (frozenset({SessionStatus.CREATED}), SessionStatus.ACTIVE),
    CommandKind.SUSPEND: (frozenset({SessionStatus.ACTIVE}), SessionStatus.SUSPENDED),
    CommandKind.RECOVER: (frozenset({SessionStatus.SUSPENDED, SessionStatus.FAILED}), SessionStatus.ACTIVE),
    CommandKind.STOP: (
        frozenset({SessionStatus.CREATED, SessionStatus.ACTIVE, SessionStatus.SUSPENDED, SessionStatus.FAILED}),
        SessionStatus.STOPPED,
    ),
    CommandKind.FAIL: (frozenset({SessionStatus.ACTIVE, SessionStatus.SUSPENDED}), SessionStatus.FAILED),
}
#: statuses in which a session follows its strategy instance (gets its signals and prices)
FOLLOWING = frozenset({SessionStatus.ACTIVE, SessionStatus.SUSPENDED})
DELETABLE = frozenset({SessionStatus.CREATED, SessionStatus.STOPPED, SessionStatus.FAILED})
_HINTS = {
    (CommandKind.START, SessionStatus.SUSPENDED): "recover it instead",
    (CommandKind.START, SessionStatus.FAILED): "recover it instead",
    (CommandKind.START, SessionStatus.STOPPED): "a stopped session is final; create a new one",
    (CommandKind.RECOVER, SessionStatus.CREATED): "start it instead",
}


def _transition(current: SessionState, command: SessionCommand) -> Decision:
    sources, target = TRANSITIONS[command.kind]
    if current.status is target:
        return Unchanged(current)  # asked twice: harmless
    if current.status not in sources:
        hint = _HINTS.get((command.kind, current.status))
        return Rejected(
            f"cannot {command.kind.value} a session that is {current.status.value}" + (f": {hint}" if hint else "")
        )
    changes: dict[str, Any] = {"status": target}
    if target is SessionStatus.ACTIVE:
        changes.update(started_at=current.started_at or command.issued_at, reason=None)
    if target in (SessionStatus.STOPPED, SessionStatus.FAILED):
        changes["reason"] = command.reason
    if target is SessionStatus.STOPPED:
        changes["keep_positions"] = bool(command.keep_positions)
    return Applied(_next(current, command, **changes))


def _modify(
    current: SessionState,
    command: SessionCommand,
    allowed: frozenset[SessionMode],
    strategy_check: StrategyCheck | None,
) -> Decision:
    spec = command.spec
    if spec is None:
        return Rejected("a modify command needs the new spec", "spec")
    if current.status is SessionStatus.STOPPED:
        return Rejected("cannot modify a session that is stopped: a stopped session is final")
    if spec == current.spec:
        return Unchanged(current)
    if current.status in FOLLOWING and spec.mode is not current.spec.mode:
        return Rejected(
            f"mode cannot change while the session is {current.status.value}; stop it and create a new session", "mode"
        )
    errors = spec_errors(spec, allowed, strategy_check)
    if errors:
        return Rejected("; ".join(f"{error.field}: {error.message}" for error in errors), errors[0].field)
    return Applied(_next(current, command, spec=spec, spec_version=current.spec_version + 1))


def _delete(current: SessionState) -> Decision:
    if current.status not in DELETABLE:
        return Rejected(f"cannot delete a session that is {current.status.value}: stop it first")
    return Deleted(current)


def _next(current: SessionState, command: SessionCommand, **changes: Any) -> SessionState:
    """``current`` changed by ``command``: a new version stamped with the command's time and id."""
    return current.derive(
        version=current.version + 1, updated_at=command.issued_at, last_command_id=command.command_id, **changes
    )


def strategy_instance_id(spec: SessionSpec) -> str:
    """The id of the strategy instance a session follows: equal specs share one instance."""
    identity = json.dumps(
        [spec.strategy, spec.parameters, spec.exchange, spec.symbol, spec.timeframe],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return f"{spec.strategy}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"


def strategy_changes(before: SessionState | None, after: SessionState | None) -> list[StrategyCommand]:
    """What a change asks of strategy instances: unfollow the one left, follow the one joined.

    A session follows its instance while active or suspended (suspended sessions keep their
    prices and signals so that protective exits are still watched). A modify that changes the
    instance while following unfollows the old one and follows the new one, which takes the
    next candle: the new spec applies from there.
    """
    left = _followed(before)
    joined = _followed(after)
    if left == joined:
        return []
    commands = []
    if before is not None and left is not None:
        commands.append(_strategy_command(StrategyAction.UNFOLLOW, before, after or before))
    if after is not None and joined is not None:
        commands.append(_strategy_command(StrategyAction.FOLLOW, after, after))
    return commands


def _followed(state: SessionState | None) -> str | None:
    if state is None or state.status not in FOLLOWING or ranged(state.spec):
        return None
    return strategy_instance_id(state.spec)


def ranged(spec: SessionSpec) -> bool:
    """A backtest session with a range: the backtest driver runs it, it follows no instance."""
    return spec.mode is SessionMode.BACKTEST and spec.backtest is not None


def backtest_job(before: SessionState | None, after: SessionState) -> BacktestJob | None:
    """The job a ranged backtest session's start (or recovery) asks for; None for any other change."""
    became_active = after.status is SessionStatus.ACTIVE and (before is None or before.status is not after.status)
    if not became_active or not ranged(after.spec):
        return None
    assert after.spec.backtest is not None
    return BacktestJob(job_id=f"session-{after.session_id}-v{after.version}", spec=after.spec,
                       start=after.spec.backtest.start, end=after.spec.backtest.end, submitted_at=after.updated_at,
                       session_id=after.session_id)  # fmt: skip


def _strategy_command(action: StrategyAction, of: SessionState, at: SessionState) -> StrategyCommand:
    spec = of.spec
    return StrategyCommand(
        command_id=f"{action.value}:{of.session_id}:v{at.version}",
        action=action,
        strategy_id=strategy_instance_id(spec),
        session_id=of.session_id,
        strategy=spec.strategy,
        parameters=spec.parameters,
        exchange=spec.exchange,
        symbol=spec.symbol,
        timeframe=spec.timeframe,
        at=at.updated_at,
    )


def _create(
    current: SessionState | None,
    command: SessionCommand,
    allowed: frozenset[SessionMode],
    strategy_check: StrategyCheck | None,
) -> Decision:
    spec = command.spec
    if spec is None:
        return Rejected("a create command needs a spec", "spec")
    if current is not None:
        if current.spec == spec:
            return Unchanged(current)  # asking again for exactly what exists: a retry
        return Rejected(f"session {command.session_id} already exists", "session_id")
    errors = spec_errors(spec, allowed, strategy_check)
    if errors:
        return Rejected("; ".join(f"{error.field}: {error.message}" for error in errors), errors[0].field)
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
