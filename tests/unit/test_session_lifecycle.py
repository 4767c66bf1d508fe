"""The session lifecycle (pure): every transition, every refusal, repeats, modify, delete, and the
strategy commands each change implies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from r3edge_streams.domain.sessions import (
    Applied,
    Deleted,
    Rejected,
    Unchanged,
    allowed_modes,
    apply_command,
    spec_errors,
    strategy_changes,
    strategy_instance_id,
)
from r3edge_streams.models import (
    AutoStop,
    CommandKind,
    RiskParams,
    SessionCommand,
    SessionMode,
    SessionSpec,
    SessionState,
    SessionStatus,
    StrategyAction,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
MODES = allowed_modes(live_enabled=False)
SPEC = SessionSpec(
    strategy="sma_cross",
    parameters={"fast": 5, "slow": 20},
    exchange="binance",
    symbol="BTC/USDT",
    timeframe="1m",
    mode=SessionMode.PAPER,
    refresh_seconds=5,
)
C, A, S, X, F = (
    SessionStatus.CREATED,
    SessionStatus.ACTIVE,
    SessionStatus.SUSPENDED,
    SessionStatus.STOPPED,
    SessionStatus.FAILED,
)
_counter = iter(range(1, 10_000))


def cmd(kind: CommandKind, **fields: Any) -> SessionCommand:
    n = next(_counter)
    return SessionCommand(
        command_id=f"{kind.value}:{n}", session_id="s1", kind=kind, issued_at=T0 + timedelta(minutes=n), **fields
    )


def state(status: SessionStatus, **fields: Any) -> SessionState:
    return SessionState(
        session_id="s1",
        spec=SPEC,
        status=status,
        version=3,
        created_at=T0,
        updated_at=T0,
        last_command_id="x",
        **fields,
    )


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    [
        (CommandKind.START, C, A),
        (CommandKind.SUSPEND, A, S),
        (CommandKind.RECOVER, S, A),
        (CommandKind.RECOVER, F, A),
        (CommandKind.STOP, C, X),
        (CommandKind.STOP, A, X),
        (CommandKind.STOP, S, X),
        (CommandKind.STOP, F, X),
        (CommandKind.FAIL, A, F),
        (CommandKind.FAIL, S, F),
    ],
)
def test_each_allowed_transition(kind: CommandKind, before: SessionStatus, after: SessionStatus) -> None:
    command = cmd(kind)
    decision = apply_command(state(before), command, MODES)
    assert isinstance(decision, Applied)
    assert (
        decision.state.status,
        decision.state.version,
        decision.state.updated_at,
        decision.state.last_command_id,
    ) == (after, 4, command.issued_at, command.command_id)


@pytest.mark.parametrize(
    ("kind", "before", "hint"),
    [
        (CommandKind.START, S, "recover it instead"),
        (CommandKind.START, F, "recover it instead"),
        (CommandKind.START, X, "a stopped session is final"),
        (CommandKind.SUSPEND, C, None),
        (CommandKind.SUSPEND, X, None),
        (CommandKind.SUSPEND, F, None),
        (CommandKind.RECOVER, C, "start it instead"),
        (CommandKind.RECOVER, X, None),
        (CommandKind.FAIL, C, None),
        (CommandKind.FAIL, X, None),
    ],
)
def test_each_refused_transition_says_why(kind: CommandKind, before: SessionStatus, hint: str | None) -> None:
    decision = apply_command(state(before), cmd(kind), MODES)
    assert isinstance(decision, Rejected) and decision.field == "status"
    assert decision.reason.startswith(f"cannot {kind.value} a session that is {before.value}")
    assert hint is None or hint in decision.reason


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (CommandKind.START, A),
        (CommandKind.SUSPEND, S),
        (CommandKind.RECOVER, A),
        (CommandKind.STOP, X),
        (CommandKind.FAIL, F),
    ],
)
def test_asking_for_the_status_a_session_has_is_harmless(kind: CommandKind, status: SessionStatus) -> None:
    current = state(status)
    assert apply_command(current, cmd(kind), MODES) == Unchanged(current)


def test_a_redelivered_command_changes_nothing_even_after_later_ones() -> None:
    start = cmd(CommandKind.START)
    started = apply_command(state(C), start, MODES)
    assert isinstance(started, Applied)
    assert apply_command(started.state, start, MODES) == Unchanged(started.state)


def test_start_stamps_the_first_start_and_recover_keeps_it() -> None:
    start = cmd(CommandKind.START)
    started = apply_command(state(C), start, MODES)
    assert isinstance(started, Applied) and started.state.started_at == start.issued_at
    suspended = apply_command(started.state, cmd(CommandKind.SUSPEND), MODES)
    assert isinstance(suspended, Applied)
    recovered = apply_command(suspended.state, cmd(CommandKind.RECOVER), MODES)
    assert isinstance(recovered, Applied) and recovered.state.started_at == start.issued_at


def test_stop_records_its_reason_and_whether_positions_stay_open() -> None:
    decision = apply_command(state(A), cmd(CommandKind.STOP, reason="auto-stop: x", keep_positions=True), MODES)
    assert isinstance(decision, Applied)
    assert (decision.state.reason, decision.state.keep_positions) == ("auto-stop: x", True)
    plain = apply_command(state(A), cmd(CommandKind.STOP), MODES)
    assert isinstance(plain, Applied) and (plain.state.reason, plain.state.keep_positions) == (None, False)


def test_a_stale_expected_version_is_a_conflict() -> None:
    decision = apply_command(state(A), cmd(CommandKind.SUSPEND, expected_version=2), MODES)
    assert isinstance(decision, Rejected) and decision.field == "expected_version" and "version 3" in decision.reason
    assert isinstance(apply_command(state(A), cmd(CommandKind.SUSPEND, expected_version=3), MODES), Applied)


def test_suspended_sessions_keep_following_and_leaving_it_unfollows() -> None:
    assert strategy_changes(state(A), state(S)) == []
    assert [c.action for c in strategy_changes(state(S), state(X))] == [StrategyAction.UNFOLLOW]
    assert [c.action for c in strategy_changes(state(S), state(F))] == [StrategyAction.UNFOLLOW]
    assert [c.action for c in strategy_changes(state(F), state(A))] == [StrategyAction.FOLLOW]


def test_modify_versions_the_spec_and_moves_an_active_session_to_the_new_instance() -> None:
    new_spec = SPEC.derive(parameters={"fast": 8, "slow": 21})
    decision = apply_command(state(A), cmd(CommandKind.MODIFY, spec=new_spec), MODES)
    assert isinstance(decision, Applied)
    after = decision.state
    assert (after.spec, after.spec_version, after.version, after.status) == (new_spec, 2, 4, A)
    changes = strategy_changes(state(A), after)
    assert [(c.action, c.strategy_id) for c in changes] == [
        (StrategyAction.UNFOLLOW, strategy_instance_id(SPEC)),
        (StrategyAction.FOLLOW, strategy_instance_id(new_spec)),
    ]
    assert len({c.command_id for c in changes}) == 2


def test_modify_of_what_does_not_change_the_instance_asks_nothing_of_strategies() -> None:
    riskier = SPEC.derive(risk=RiskParams(capital=Decimal("500")), refresh_seconds=60)
    decision = apply_command(state(A), cmd(CommandKind.MODIFY, spec=riskier), MODES)
    assert isinstance(decision, Applied) and strategy_changes(state(A), decision.state) == []
    assert apply_command(state(A), cmd(CommandKind.MODIFY, spec=SPEC), MODES) == Unchanged(state(A))


def test_modify_refusals() -> None:
    backtest = SPEC.derive(mode=SessionMode.BACKTEST)
    for status in (A, S):
        decision = apply_command(state(status), cmd(CommandKind.MODIFY, spec=backtest), MODES)
        assert isinstance(decision, Rejected) and decision.field == "mode"
    assert isinstance(apply_command(state(C), cmd(CommandKind.MODIFY, spec=backtest), MODES), Applied)
    stopped = apply_command(state(X), cmd(CommandKind.MODIFY, spec=backtest), MODES)
    assert isinstance(stopped, Rejected) and "stopped" in stopped.reason
    bad = apply_command(state(A), cmd(CommandKind.MODIFY, spec=SPEC.derive(timeframe="7m")), MODES)
    assert isinstance(bad, Rejected) and bad.field == "timeframe"
    assert apply_command(state(A), cmd(CommandKind.MODIFY), MODES) == Rejected(
        "a modify command needs the new spec", "spec"
    )


@pytest.mark.parametrize("status", [C, X, F])
def test_delete_removes_a_session_that_runs_nothing(status: SessionStatus) -> None:
    assert apply_command(state(status), cmd(CommandKind.DELETE), MODES) == Deleted(state(status))


@pytest.mark.parametrize("status", [A, S])
def test_delete_of_a_running_session_is_refused(status: SessionStatus) -> None:
    decision = apply_command(state(status), cmd(CommandKind.DELETE), MODES)
    assert isinstance(decision, Rejected) and "stop it first" in decision.reason


def test_deleting_what_is_gone_is_a_harmless_repeat() -> None:
    assert apply_command(None, cmd(CommandKind.DELETE), MODES) == Deleted(None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"risk": RiskParams(capital=Decimal(0))}, "risk.capital"),
        ({"risk": RiskParams(risk_per_trade=Decimal("1.5"))}, "risk.risk_per_trade"),
        ({"risk": RiskParams(max_position_fraction=Decimal(0))}, "risk.max_position_fraction"),
        ({"risk": RiskParams(stop_loss_pct=Decimal(100.5))}, "risk.stop_loss_pct"),
        ({"risk": RiskParams(take_profit_pct=Decimal(-1))}, "risk.take_profit_pct"),
        ({"risk": RiskParams(max_open_positions=0)}, "risk.max_open_positions"),
        ({"auto_stop": AutoStop(max_duration_seconds=0)}, "auto_stop.max_duration_seconds"),
        ({"auto_stop": AutoStop(loss_limit=Decimal(0))}, "auto_stop.loss_limit"),
        ({"auto_stop": AutoStop(gain_target=Decimal(-5))}, "auto_stop.gain_target"),
        ({"account": "bad name!"}, "account"),
    ],
)
def test_risk_auto_stop_and_account_fields_are_checked(changes: dict[str, Any], field: str) -> None:
    assert [e.field for e in spec_errors(SPEC.derive(**changes), MODES)] == [field]
