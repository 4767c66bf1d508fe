"""The pure session rules: spec validation and how a command changes a session."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from r3edge_streams.domain.sessions import (
    Applied,
    Rejected,
    Unchanged,
    allowed_modes,
    apply_command,
    backtest_job,
    create_command_id,
    session_id_error,
    spec_errors,
    strategy_changes,
    strategy_instance_id,
)
from r3edge_streams.models import (
    BacktestRange,
    CommandKind,
    FillModel,
    RiskParams,
    SessionCommand,
    SessionMode,
    SessionSpec,
    SessionState,
    SessionStatus,
    SizingMethod,
    StrategyAction,
)

T0 = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
PAPER_ONLY = allowed_modes(live_enabled=False)
SPEC = SessionSpec(
    strategy="sma_cross",
    parameters={"fast": 5},
    exchange="kucoin",
    symbol="ETH/BTC",
    timeframe="15m",
    mode=SessionMode.PAPER,
    refresh_seconds=30,
)


def create(session_id: str = "s1", spec: SessionSpec | None = SPEC, command_id: str | None = None) -> SessionCommand:
    return SessionCommand(
        command_id=command_id or create_command_id(session_id),
        session_id=session_id,
        kind=CommandKind.CREATE,
        issued_at=T0,
        spec=spec,
    )


def spec_with(**changes: object) -> SessionSpec:
    return SessionSpec(**{**SPEC.asdict(), **changes})


def test_create_makes_a_created_session_stamped_with_the_command_time() -> None:
    decision = apply_command(None, create(), PAPER_ONLY)
    assert isinstance(decision, Applied)
    state = decision.state
    assert (state.session_id, state.status, state.version) == ("s1", SessionStatus.CREATED, 1)
    assert state.created_at == state.updated_at == T0 and state.spec == SPEC
    assert state.last_command_id == "create:s1"


def test_a_repeated_create_changes_nothing() -> None:
    state = apply_command(None, create(), PAPER_ONLY)
    assert isinstance(state, Applied)
    again = apply_command(state.state, create(), PAPER_ONLY)
    assert again == Unchanged(state.state)


def test_a_different_create_for_an_existing_session_is_rejected() -> None:
    state = apply_command(None, create(), PAPER_ONLY)
    assert isinstance(state, Applied)
    other = apply_command(state.state, create(spec=spec_with(symbol="BTC/USDT")), PAPER_ONLY)
    assert isinstance(other, Rejected) and "already exists" in other.reason


def test_create_without_a_spec_is_rejected() -> None:
    assert apply_command(None, create(spec=None), PAPER_ONLY) == Rejected("a create command needs a spec", "spec")


def test_an_invalid_spec_from_kafka_is_rejected_with_every_reason() -> None:
    decision = apply_command(None, create(spec=spec_with(symbol="ethbtc", timeframe="7m")), PAPER_ONLY)
    assert isinstance(decision, Rejected)
    assert "symbol:" in decision.reason and "timeframe:" in decision.reason


def test_live_sessions_need_a_live_deployment() -> None:
    live = spec_with(mode=SessionMode.LIVE, account="main")
    assert [e.field for e in spec_errors(live, PAPER_ONLY)] == ["mode"]
    assert spec_errors(live, allowed_modes(live_enabled=True)) == []
    no_account = spec_with(mode=SessionMode.LIVE)
    assert [e.field for e in spec_errors(no_account, allowed_modes(live_enabled=True))] == ["account"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"strategy": "SMA Cross"}, "strategy"),
        ({"exchange": "Binance"}, "exchange"),
        ({"symbol": "BTC-USDT"}, "symbol"),
        ({"timeframe": "2m"}, "timeframe"),
        ({"refresh_seconds": 0}, "refresh_seconds"),
        ({"refresh_seconds": 86_401}, "refresh_seconds"),
        ({"parameters": {f"p{i}": i for i in range(65)}}, "parameters"),
    ],
)
def test_each_invalid_field_is_named(changes: dict[str, object], field: str) -> None:
    assert [error.field for error in spec_errors(spec_with(**changes), PAPER_ONLY)] == [field]


@pytest.mark.parametrize(
    ("risk", "fills", "field"),
    [
        ({"sizing": "risk"}, {}, "risk.stop_loss_pct"),  # risk per trade needs a stop distance
        ({"position_fraction": Decimal("1.5")}, {}, "risk.position_fraction"),
        ({"trailing_stop_pct": Decimal("0")}, {}, "risk.trailing_stop_pct"),
        ({"allow_short": True}, {}, "risk.allow_short"),  # spot markets cannot be shorted
        ({}, {"fee_bps": Decimal("-1")}, "fills.fee_bps"),
        ({}, {"slippage_bps": Decimal("-0.5")}, "fills.slippage_bps"),
    ],
)
def test_a_risk_or_fill_setting_that_cannot_work_is_named(
    risk: dict[str, object], fills: dict[str, object], field: str
) -> None:
    spec = spec_with(risk=RiskParams(**risk), fills=FillModel(**fills))
    assert [error.field for error in spec_errors(spec, PAPER_ONLY)] == [field]


def test_risk_sizing_with_a_stop_and_zero_fees_are_accepted() -> None:
    spec = spec_with(
        risk=RiskParams(sizing=SizingMethod.RISK, stop_loss_pct=Decimal("2")),
        fills=FillModel(fee_bps=Decimal(0), slippage_bps=Decimal(0)),
    )
    assert spec_errors(spec, PAPER_ONLY) == []


def test_derivative_symbols_and_all_timeframes_are_accepted() -> None:
    assert spec_errors(spec_with(symbol="BTC/USDT:USDT", timeframe="1w"), PAPER_ONLY) == []


@pytest.mark.parametrize("session_id", ["", "-x", "a b", "x" * 65, "é"])
def test_invalid_session_ids(session_id: str) -> None:
    assert session_id_error(session_id) is not None
    assert isinstance(apply_command(None, create(session_id), PAPER_ONLY), Rejected)


def test_valid_session_ids() -> None:
    assert session_id_error("Alpha_1.2-3") is None


def command_of(kind: CommandKind, session_id: str = "s1", n: int = 1) -> SessionCommand:
    return SessionCommand(
        command_id=f"{kind.value}:{session_id}:{n}", session_id=session_id, kind=kind, issued_at=T0.replace(minute=n)
    )


def created() -> SessionState:
    decision = apply_command(None, create(), PAPER_ONLY)
    assert isinstance(decision, Applied)
    return decision.state


def test_start_makes_a_created_session_active_and_follows_its_strategy_instance() -> None:
    before = created()
    decision = apply_command(before, command_of(CommandKind.START), PAPER_ONLY)
    assert isinstance(decision, Applied)
    after = decision.state
    assert (after.status, after.version, after.updated_at, after.created_at) == (
        SessionStatus.ACTIVE,
        2,
        T0.replace(minute=1),
        before.created_at,
    )
    [change] = strategy_changes(before, after)
    assert (change.action, change.session_id, change.strategy_id) == (
        StrategyAction.FOLLOW,
        "s1",
        strategy_instance_id(SPEC),
    )
    assert (change.strategy, change.parameters, change.exchange, change.symbol, change.timeframe) == (
        "sma_cross",
        {"fast": 5},
        "kucoin",
        "ETH/BTC",
        "15m",
    )


def test_stop_unfollows_and_repeats_change_nothing() -> None:
    started = apply_command(created(), command_of(CommandKind.START), PAPER_ONLY)
    assert isinstance(started, Applied)
    assert apply_command(started.state, command_of(CommandKind.START, n=2), PAPER_ONLY) == Unchanged(started.state)
    stopped = apply_command(started.state, command_of(CommandKind.STOP, n=3), PAPER_ONLY)
    assert isinstance(stopped, Applied) and stopped.state.status is SessionStatus.STOPPED
    assert [c.action for c in strategy_changes(started.state, stopped.state)] == [StrategyAction.UNFOLLOW]
    assert apply_command(stopped.state, command_of(CommandKind.STOP, n=4), PAPER_ONLY) == Unchanged(stopped.state)


def test_refused_transitions_say_why() -> None:
    stopped = apply_command(created(), command_of(CommandKind.STOP), PAPER_ONLY)
    assert isinstance(stopped, Applied)
    assert strategy_changes(created(), stopped.state) == []  # never active: nothing to unfollow
    assert apply_command(stopped.state, command_of(CommandKind.START, n=2), PAPER_ONLY) == Rejected(
        "cannot start a session that is stopped: a stopped session is final; create a new one"
    )
    assert apply_command(None, command_of(CommandKind.START), PAPER_ONLY) == Rejected("no session s1", "session_id")


def test_equal_specs_share_one_strategy_instance() -> None:
    same = SessionSpec(
        **{**SPEC.asdict(), "parameters": {"fast": 5}, "refresh_seconds": 99, "mode": SessionMode.BACKTEST}
    )
    assert strategy_instance_id(same) == strategy_instance_id(SPEC)
    assert strategy_instance_id(spec_with(parameters={"fast": 6})) != strategy_instance_id(SPEC)
    assert strategy_instance_id(spec_with(timeframe="1h")) != strategy_instance_id(SPEC)


def test_the_strategy_check_is_applied_after_the_field_checks() -> None:
    from r3edge_streams.domain.sessions import FieldError

    def refuse(spec: SessionSpec) -> FieldError:
        return FieldError("strategy", f"unknown strategy {spec.strategy!r}")

    assert spec_errors(SPEC, PAPER_ONLY, refuse) == [FieldError("strategy", "unknown strategy 'sma_cross'")]
    assert [e.field for e in spec_errors(spec_with(symbol="x"), PAPER_ONLY, refuse)] == ["symbol"]
    decision = apply_command(None, create(), PAPER_ONLY, refuse)
    assert decision == Rejected("strategy: unknown strategy 'sma_cross'", "strategy")


def _ranged(mode: SessionMode = SessionMode.BACKTEST, start: int = 0, end: int = 1) -> SessionSpec:
    return SPEC.derive(
        mode=mode, backtest=BacktestRange(start=T0 + timedelta(days=start), end=T0 + timedelta(days=end))
    )


def test_only_a_backtest_session_has_a_range_and_it_is_not_empty() -> None:
    assert spec_errors(_ranged(), PAPER_ONLY) == []
    [paper] = spec_errors(_ranged(SessionMode.PAPER), PAPER_ONLY)
    assert paper.field == "backtest" and "mode backtest" in paper.message
    [empty] = spec_errors(_ranged(start=2, end=2), PAPER_ONLY)
    assert empty.field == "backtest" and "before end" in empty.message


def test_a_ranged_backtest_session_follows_no_instance_and_its_start_and_recovery_ask_for_a_job() -> None:
    created = SessionState(session_id="b1", spec=_ranged(), status=SessionStatus.CREATED, version=1, created_at=T0,
                           updated_at=T0, last_command_id="c")  # fmt: skip
    active = created.derive(status=SessionStatus.ACTIVE, version=2)
    assert strategy_changes(created, active) == []
    job = backtest_job(created, active)
    assert job is not None and job.session_id == "b1" and job.job_id == "session-b1-v2"
    assert (job.start, job.end) == (T0, T0 + timedelta(days=1))
    assert backtest_job(active, active.derive(version=3)) is None, "only when it becomes active"
    failed = active.derive(status=SessionStatus.FAILED, version=3)
    recovered = backtest_job(failed, failed.derive(status=SessionStatus.ACTIVE, version=4))
    assert recovered is not None and recovered.job_id == "session-b1-v4"
    unranged = created.derive(spec=SPEC.derive(mode=SessionMode.BACKTEST))
    assert backtest_job(unranged, unranged.derive(status=SessionStatus.ACTIVE)) is None
    assert strategy_changes(unranged, unranged.derive(status=SessionStatus.ACTIVE)) != [], "it follows the signals"
