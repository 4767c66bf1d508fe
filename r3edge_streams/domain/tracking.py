"""The PositionTracker's step (pure): one session's position, moved by its requests and its fills.

In: the session (``SessionState``), its ``Position`` (None before its first event) and one
event: a signal, a closed candle of its market, a status change, or an ``ExecutionReport`` of
its order. Out: ``Tracked``: the new position (None: unchanged), the ``RawOrder`` it decided
(at most one: a session has at most one order in flight), the notifications, and the
``Trade`` a fill completed. Time comes from the event. Order ids number the session's
decisions (``<session>:o<n>``), so the same event on the same stored position decides the
same order id again, and the downstream steps drop the repeat.

The rules it combines: signal semantics (:mod:`.intents`), protective exits on candles
(:mod:`.protection`) and the money of fills (:mod:`.ledger`). Candles and signals that come
while an order is in flight are kept and taken in candle order when it ends (an entry's levels
from the fill's candle on, each signal decided at its candle's close), so a stop cannot be
skipped because a fill was slow to come back, and the decisions are those of event time
whatever the replay speed or the venue's latency. A refused order is reported, never retried
by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field
from datetime import datetime
from decimal import Decimal

from ..models import (
    BacktestResult,
    Candle,
    CommandKind,
    Notification,
    OrderPurpose,
    OrderSide,
    OrderStatus,
    OrderType,
    RawOrder,
    RequestKind,
    SessionCommand,
    SessionMode,
    SessionRequest,
    SessionState,
    SessionStatus,
    Severity,
    Signal,
)
from ..models.orders import ExecutionReport
from ..models.positions import InFlight, Position, Trade
from .candles import close_time, timeframe_delta
from .intents import Blocked, Intent, Situation, decide
from .ledger import ClosedPart, Holding, apply_fill, quote_fill
from .notices import WindDown, wound_down
from .protection import Levels, Trigger, advanced, levels_at_entry, triggered
from .values import replace, value

_ZERO = Decimal(0)
_RUNNING = frozenset({SessionStatus.ACTIVE, SessionStatus.SUSPENDED})
MAX_SEEN = 100  # candles, and signals, kept while an order is in flight (the oldest go first)


@value
class Tracked:
    position: Position | None = None
    order: RawOrder | None = None
    notices: list[Notification] = field(default_factory=list)
    trade: Trade | None = None
    problem: str | None = None  # the event cannot apply to this session (dead-lettered with this reason)
    trades: list[Trade] = field(default_factory=list)  # a backtest's round trips, all at once
    command: SessionCommand | None = None  # what the session must do now (a backtest session: stop or fail)


def tracks(state: SessionState) -> bool:
    """Whether the tracker keeps a position for the session and trades it: paper and live
    sessions do; a backtest session gets its signals and prices on the Kafka path, and its
    trades will come from the backtest driver, which runs these same steps in one process."""
    return state.spec.mode is not SessionMode.BACKTEST


def fresh(state: SessionState, at: datetime) -> Position:
    """The flat position a session starts with: its capital, all in cash."""
    spec = state.spec
    return Position(session_id=state.session_id, exchange=spec.exchange, symbol=spec.symbol, quantity=_ZERO,
                    average_entry_price=_ZERO, realized_pnl=_ZERO, updated_at=at, capital=spec.risk.capital,
                    cash=spec.risk.capital)  # fmt: skip


def on_request(state: SessionState, position: Position | None, request: SessionRequest) -> Tracked:
    """One request of the session (after its feed took it once): a signal, a candle's price, a
    status change, a backtest's result; a tick, or any other request of a session that is not
    tracked, changes nothing."""
    if request.kind is RequestKind.BACKTEST and request.result is not None:
        return on_backtest(state, request.result, request.at)
    if not tracks(state):
        return Tracked()
    if request.kind is RequestKind.SIGNAL and request.signal is not None:
        return on_signal(state, position, request.signal, request.at)
    if request.kind is RequestKind.PRICE and request.candle is not None:
        return on_candle(state, position, request.candle, request.at)
    if request.kind is RequestKind.SESSION and request.status is not None:
        return on_status(state, position, request.status, bool(request.keep_positions), request.at)
    return Tracked()


def on_backtest(state: SessionState, result: BacktestResult, at: datetime) -> Tracked:
    """A backtest session's range, run by the driver: its final position and trades are the
    session's, and it stops (or fails, with the reason the run could not be made)."""
    done = f"backtest {result.job_id} done: {result.trades_total} round trips"
    kind, reason = (CommandKind.FAIL, result.error) if result.error is not None else (CommandKind.STOP, done)
    command = SessionCommand(command_id=f"backtest:{result.job_id}:{kind.value}", session_id=state.session_id,
                             kind=kind, issued_at=max(at, state.updated_at), reason=reason,
                             keep_positions=True)  # fmt: skip
    return Tracked(position=result.position, trades=list(result.trades), command=command)


# ------------------------------------------------------------------------------------------ signals


def on_signal(state: SessionState, position: Position | None, signal: Signal, at: datetime) -> Tracked:
    """The session's strategy wants ``signal.direction``: act if it calls for an order (or, while
    an order is in flight, keep it to decide in candle order when that order ends)."""
    if state.status not in _RUNNING:
        return Tracked()
    held = (position or fresh(state, at)).derive(updated_at=max_time(position, at))
    if held.mark_price is None:
        held = held.derive(mark_price=signal.price)
    if held.in_flight is not None:
        return _kept(state, held, pending=[*held.pending, signal])
    held = held.derive(wanted=signal.direction)
    return _decided(state, held, signal.price, signal.candle_time, at, signal.signal_id)


def _decided(
    state: SessionState, held: Position, price: Decimal, candle_time: datetime, at: datetime, signal_id: str | None
) -> Tracked:
    """The order the wanted direction calls for now (or the reason none may be placed)."""
    if held.closing:
        return Tracked(position=held)
    entering = held.in_flight is not None and held.in_flight.purpose is OrderPurpose.ENTRY
    situation = Situation(
        quantity=held.quantity,
        in_flight=held.in_flight is not None,
        suspended=state.status is SessionStatus.SUSPENDED,
        open_positions=1 if held.quantity != _ZERO or entering else 0,
    )
    intent = decide(held.wanted, situation, state.spec.risk)
    if isinstance(intent, Blocked):
        return Tracked(position=held, notices=[_blocked(state, held, intent, at)])
    if intent is None:
        return Tracked(position=held)
    return _ordered(state, held, intent, price, candle_time, at, signal_id=signal_id)


def _blocked(state: SessionState, held: Position, blocked: Blocked, at: datetime) -> Notification:
    return Notification(
        notification_id=f"blocked:{state.session_id}:{held.decisions}:{held.wanted}",
        severity=Severity.INFO,
        category="position.entry_blocked",
        title=f"session {state.session_id}: no entry",
        body=blocked.reason,
        at=at,
        session_id=state.session_id,
    )


# ------------------------------------------------------------------------------------------ orders


def _ordered(
    state: SessionState,
    held: Position,
    intent: Intent,
    price: Decimal,
    candle_time: datetime,
    at: datetime,
    signal_id: str | None = None,
    trigger: Trigger | None = None,
) -> Tracked:
    """The raw order of ``intent``, and the position waiting for it."""
    spec = state.spec
    order_id = f"{state.session_id}:o{held.decisions + 1}"
    holding = holding_of(held)
    entry = intent.purpose is OrderPurpose.ENTRY
    stop = levels_at_entry(intent.side is OrderSide.BUY, price, spec.risk).stop_loss if entry else None
    order = RawOrder(
        order_id=order_id, session_id=state.session_id, exchange=spec.exchange, symbol=spec.symbol,
        side=intent.side, order_type=OrderType.MARKET, mode=spec.mode, created_at=at,
        reason=_reason(intent, trigger), reduce_only=not entry, purpose=intent.purpose,
        timeframe=spec.timeframe, candle_time=candle_time, signal_id=signal_id, account=spec.account,
        reference_price=price, stop_price=stop, equity=holding.equity(price), cash=holding.cash,
        quantity=None if entry else abs(held.quantity), trigger_price=trigger.price if trigger else None,
        risk=spec.risk, fills=spec.fills,
    )  # fmt: skip
    flight = InFlight(order_id=order_id, purpose=intent.purpose, side=intent.side, decided_at=at)
    return Tracked(position=held.derive(in_flight=flight, decisions=held.decisions + 1, updated_at=at), order=order)


def _reason(intent: Intent, trigger: Trigger | None) -> str:
    if trigger is not None:
        how = "gapped through" if trigger.gapped else "reached"
        return f"{trigger.purpose.value} {how} {trigger.level}: exit at {trigger.price}"
    return f"{intent.purpose.value} {intent.side.value} on the strategy's signal"


# ------------------------------------------------------------------------------------------ candles


def on_candle(state: SessionState, position: Position | None, candle: Candle, at: datetime) -> Tracked:
    """A closed candle of the session's market: mark the position, check its levels, note a gap."""
    held = position or fresh(state, at)
    if held.last_candle_time is not None and candle.open_time <= held.last_candle_time:
        return Tracked()
    notices = [_gap(state, held, candle)] if _missed(held, candle) else []
    held = held.derive(mark_price=candle.close, last_candle_time=candle.open_time, updated_at=max_time(position, at))
    if held.in_flight is not None:
        kept = _kept(state, held, seen=[*held.seen, candle])
        return Tracked(position=kept.position, notices=notices + kept.notices)
    if held.quantity == _ZERO:
        return Tracked(position=held, notices=notices)
    result = _checked(state, held, candle, at)
    return Tracked(position=result.position, order=result.order, notices=notices + result.notices)


def quiet(position: Position | None, candle: Candle) -> bool:
    """Whether ``on_candle`` of ``candle`` would only mark ``position`` (its mark price, last candle
    and update time, which the next candle's overwrite) and order nothing: no order in flight,
    and the position flat or its levels neither fired nor moved by the candle. The backtest
    driver skips such candles' steps; the next candle it takes leaves the position as if it had not."""
    if position is None or position.in_flight is not None:
        return False
    if inert(position):
        return True
    levels = levels_of(position)
    return triggered(levels, candle) is None and advanced(levels, candle) == levels


def inert(position: Position | None) -> bool:
    """Whether every candle is ``quiet`` for ``position``: none in flight, and flat or without a
    level to fire or move (a trailing stop moves with its best price)."""
    if position is None or position.in_flight is not None:
        return False
    if position.quantity == _ZERO:
        return True
    return position.stop_loss is None and position.take_profit is None and position.best_price is None


def _missed(held: Position, candle: Candle) -> bool:
    return (
        held.last_candle_time is not None
        and candle.previous_open is not None
        and candle.previous_open > held.last_candle_time
    )


def _gap(state: SessionState, held: Position, candle: Candle) -> Notification:
    return Notification(
        notification_id=f"gap:{state.session_id}:{candle.open_time.isoformat()}",
        severity=Severity.WARNING,
        category="position.candles_missed",
        title=f"session {state.session_id}: candles missed",
        body=(
            f"no candle between {held.last_candle_time.isoformat() if held.last_candle_time else '-'} and "
            f"{candle.previous_open.isoformat() if candle.previous_open else '-'} reached the session: its "
            f"levels are checked on the candle of {candle.open_time.isoformat()} (a gap through a level fills "
            "at that candle's open)"
        ),
        at=candle.open_time,
        session_id=state.session_id,
    )


def _checked(state: SessionState, held: Position, candle: Candle, at: datetime) -> Tracked:
    """The protective exit ``candle`` fires for the open position, or the levels it carries on."""
    levels = levels_of(held)
    fired = triggered(levels, candle)
    if fired is None:
        return Tracked(position=with_levels(held, advanced(levels, candle)))
    side = OrderSide.SELL if held.quantity > _ZERO else OrderSide.BUY
    intent = Intent(fired.purpose, side)
    return _ordered(state, held, intent, fired.price, candle.open_time, at, trigger=fired)


# ------------------------------------------------------------------------------------------ fills


def on_report(
    state: SessionState, position: Position | None, report: ExecutionReport, history: Sequence[Candle] = ()
) -> Tracked:
    """An execution report of the session's order: its fill moves the money; its end frees the session.

    ``history``: candles of the market from the fill's candle on, as its source has them, for an
    entry whose fill candle the session saw before the signal that decided it (the signal came
    late): they are checked against the new levels like the candles seen while it travelled.
    """
    if position is None:
        return Tracked(problem=f"session {report.session_id} has no position and so no order {report.order_id}")
    flight = position.in_flight
    if flight is None or flight.order_id != report.order_id:
        if report.order_id == position.last_final or _earlier(position, report.order_id):
            return Tracked()  # a repeat of a report already applied
        return Tracked(problem=f"order {report.order_id} is not the order session {report.session_id} waits for")
    if report.sequence <= flight.reports:
        return Tracked()
    held, trade = _filled(state, position, flight, report)
    held = held.derive(in_flight=flight.derive(filled=flight.filled + report.last_quantity, reports=report.sequence),
                       updated_at=max(position.updated_at, report.at))  # fmt: skip
    if not report.status.final:
        return Tracked(position=held, trade=trade)
    return _ended(state, held, report, trade, history)


def _earlier(position: Position, order_id: str) -> bool:
    """Whether ``order_id`` is one of this session's orders decided before the one in flight."""
    prefix = f"{position.session_id}:o"
    number = order_id[len(prefix) :] if order_id.startswith(prefix) else ""
    return number.isdigit() and int(number) < position.decisions


def _filled(
    state: SessionState, position: Position, flight: InFlight, report: ExecutionReport
) -> tuple[Position, Trade | None]:
    if report.last_quantity <= _ZERO or report.last_price is None:
        return position, None
    fill = quote_fill(flight.side, report.last_quantity, report.last_price, report.last_fee, report.fee_currency,
                      state.spec.symbol, report.at)  # fmt: skip
    holding, closed = apply_fill(holding_of(position), fill)
    held = with_holding(position, holding)
    if flight.purpose is OrderPurpose.ENTRY:
        held = with_levels(held, _entry_levels(state, held, position))
        return held.derive(opened_at=position.opened_at or report.at, entry_order_id=flight.order_id), None
    return _closed(held, closed, flight, report)


def _entry_levels(state: SessionState, held: Position, before: Position) -> Levels:
    """Levels from the (new) average entry; the trailing stop keeps the best price already seen."""
    long = held.quantity > _ZERO
    levels = levels_at_entry(long, held.average_entry_price, state.spec.risk)
    if before.best_price is None or levels.best is None:
        return levels
    return replace(levels, best=max(before.best_price, levels.best) if long else min(before.best_price, levels.best))


def _closed(
    held: Position, closed: ClosedPart | None, flight: InFlight, report: ExecutionReport
) -> tuple[Position, Trade | None]:
    if closed is None:
        return held, None
    held = held.derive(
        closed_quantity=held.closed_quantity + closed.quantity,
        closed_value=held.closed_value + closed.quantity * closed.exit_price,
        closed_fees=held.closed_fees + closed.fees,
        closed_pnl=held.closed_pnl + closed.pnl,
    )
    if held.quantity != _ZERO:
        return held, None
    trade = Trade(
        session_id=held.session_id, number=held.trades + 1,
        side=OrderSide.BUY if closed.long else OrderSide.SELL, quantity=held.closed_quantity,
        entry_time=held.opened_at or report.at, entry_price=closed.entry_price, exit_time=report.at,
        exit_price=held.closed_value / held.closed_quantity, fees=held.closed_fees, pnl=held.closed_pnl,
        exit_reason=flight.purpose, entry_order_id=held.entry_order_id or "", exit_order_id=flight.order_id,
    )  # fmt: skip
    flat = held.derive(
        trades=held.trades + 1, opened_at=None, entry_order_id=None, closed_quantity=_ZERO, closed_value=_ZERO,
        closed_fees=_ZERO, closed_pnl=_ZERO, stop_loss=None, take_profit=None, trailing_pct=None, best_price=None,
    )  # fmt: skip
    return flat, trade


_PROTECTIVE = frozenset({OrderPurpose.STOP_LOSS, OrderPurpose.TAKE_PROFIT, OrderPurpose.TRAILING_STOP})


def _ended(
    state: SessionState, held: Position, report: ExecutionReport, trade: Trade | None, history: Sequence[Candle] = ()
) -> Tracked:
    """The order is final: what came meanwhile is taken in candle order, then the session decides
    again from the direction last wanted (a reversal) - but never retries a refused order by itself,
    nor re-enters on the signal a protective exit closed the position of."""
    flight = held.in_flight
    assert flight is not None
    filled = report.status is OrderStatus.FILLED
    notices = [] if filled else [_unfilled(state, report)]
    backlog = _backlog(held, flight, report, history)
    held = held.derive(in_flight=None, last_final=flight.order_id, seen=[], pending=[], overflowed=False)
    if not filled or flight.purpose in _PROTECTIVE:
        # the next signal decides, not this wish again: a refused order is not retried by itself,
        # and a position a stop or a target closed is not bought back on the signal it was bought on
        held = held.derive(wanted=None)
    for index, (moment, item) in enumerate(backlog):
        result = _replayed(state, held, item, moment)
        notices += result.notices
        held = result.position or held
        if result.order is not None:
            rest = [entry for _, entry in backlog[index + 1 :]]
            held = held.derive(seen=[c for c in rest if isinstance(c, Candle)],
                               pending=[s for s in rest if isinstance(s, Signal)])  # fmt: skip
            return Tracked(position=held, order=result.order, notices=notices, trade=trade)
    result = _after(state, held, flight, report, closed=trade is not None)
    return Tracked(position=result.position, order=result.order, notices=notices + result.notices, trade=trade)


def _after(state: SessionState, held: Position, flight: InFlight, report: ExecutionReport, closed: bool) -> Tracked:
    """Once an order ended and its backlog was taken: wind a stopping session down (its exit, then
    the report of what was done), or decide again."""
    at = report.at
    filled = report.status is OrderStatus.FILLED
    if held.closing:
        if held.quantity == _ZERO:
            return Tracked(position=held, notices=[wound_down(held, WindDown.CLOSED if closed else WindDown.FLAT, at)])
        if filled or flight.purpose is not OrderPurpose.SESSION_STOP:
            return _exit(state, held, OrderPurpose.SESSION_STOP, at)
        why = f"order {flight.order_id} {report.status.value}: {report.reason or 'no reason given'}"
        return Tracked(position=held, notices=[wound_down(held, WindDown.NOT_CLOSED, at, why)])
    if filled and state.status in _RUNNING and not held.closing:
        price = held.mark_price or held.average_entry_price
        if price > _ZERO:
            return _decided(state, held, price, held.last_candle_time or at, at, None)
    return Tracked(position=held)


def _backlog(
    held: Position, flight: InFlight, report: ExecutionReport, history: Sequence[Candle]
) -> list[tuple[datetime, Candle | Signal]]:
    """What came while ``flight`` travelled, in candle order (a candle before its own signal);
    an entry's levels count from the candle that filled it, up to the last candle the session saw."""
    start = report.candle_time if flight.purpose is OrderPurpose.ENTRY else None
    last = held.last_candle_time
    known = {c.open_time: c for c in [*history, *held.seen] if last is None or c.open_time <= last}
    candles = [(c.open_time, 0, c) for c in known.values() if start is None or c.open_time >= start]
    signals = [(s.candle_time, 1, s) for s in held.pending]
    ordered = sorted([*candles, *signals], key=lambda entry: (entry[0], entry[1]))
    return [(moment, item) for moment, _, item in ordered]


def _replayed(state: SessionState, held: Position, item: Candle | Signal, moment: datetime) -> Tracked:
    """One candle or signal of the backlog, at its own (event) time."""
    step = timeframe_delta(state.spec.timeframe)
    if isinstance(item, Candle):
        if held.quantity == _ZERO or held.in_flight is not None:
            return Tracked(position=held)
        return _checked(state, held, item, close_time(item))
    if state.status not in _RUNNING:
        return Tracked(position=held)
    wanted = held.derive(wanted=item.direction)
    return _decided(state, wanted, item.price, item.candle_time, moment + step, item.signal_id)


def _kept(
    state: SessionState, held: Position, seen: list[Candle] | None = None, pending: list[Signal] | None = None
) -> Tracked:
    """``held`` with its backlog grown, bounded (the oldest go first, told once per order: an
    entry's candles since its fill are read again from the market's source when it ends)."""
    seen = seen if seen is not None else held.seen
    pending = pending if pending is not None else held.pending
    over = len(seen) > MAX_SEEN or len(pending) > MAX_SEEN
    kept = held.derive(seen=seen[-MAX_SEEN:], pending=pending[-MAX_SEEN:], overflowed=held.overflowed or over)
    return Tracked(position=kept, notices=[_overflow(state, held)] if over and not held.overflowed else [])


def _overflow(state: SessionState, held: Position) -> Notification:
    order = held.in_flight.order_id if held.in_flight is not None else "-"
    return Notification(
        notification_id=f"backlog:{state.session_id}:{order}",
        severity=Severity.WARNING,
        category="position.backlog_overflow",
        title=f"session {state.session_id}: order {order} slow to end",
        body=(
            f"more than {MAX_SEEN} candles or signals came while order {order} travelled: the oldest are "
            "dropped (an entry's levels are checked on the market's candles since its fill, read again from "
            "its source when it ends; dropped signals are not decided)"
        ),
        at=held.updated_at,
        session_id=state.session_id,
    )


def _unfilled(state: SessionState, report: ExecutionReport) -> Notification:
    return Notification(
        notification_id=f"order:{report.order_id}:{report.status.value}",
        severity=Severity.WARNING,
        category=f"order.{report.status.value}",
        title=f"session {state.session_id}: order {report.order_id} {report.status.value}",
        body=report.reason or f"filled {report.filled_quantity}",
        at=report.at,
        session_id=state.session_id,
    )


# ------------------------------------------------------------------------------------------ lifecycle


def on_status(
    state: SessionState, position: Position | None, status: SessionStatus, keep_positions: bool, at: datetime
) -> Tracked:
    """The session moved to ``status``: a stop or fail closes its position unless it keeps it
    (once nothing is in flight) and reports what became of it; a failed session recovered
    trades again. ``state`` may not show the new status yet."""
    if status in _RUNNING and position is not None and position.closing:  # recovered: it trades again
        return Tracked(position=position.derive(closing=False, updated_at=max(position.updated_at, at)))
    if status in _RUNNING or status is SessionStatus.CREATED or (position is not None and position.closing):
        return Tracked()
    if keep_positions:  # left as it is (a repeat of the stop reports again, under the same id)
        kept = position or fresh(state, at)
        return Tracked(notices=[wound_down(kept, WindDown.KEPT if kept.quantity != _ZERO else WindDown.FLAT, at)])
    held = (position or fresh(state, at)).derive(closing=True, updated_at=max_time(position, at))
    if held.in_flight is not None:
        return Tracked(position=held)  # the exit follows when it ends
    if held.quantity == _ZERO:
        return Tracked(position=held, notices=[wound_down(held, WindDown.FLAT, at)])
    return _exit(state, held, OrderPurpose.SESSION_STOP, at)


def _exit(state: SessionState, held: Position, purpose: OrderPurpose, at: datetime) -> Tracked:
    side = OrderSide.SELL if held.quantity > _ZERO else OrderSide.BUY
    price = held.mark_price or held.average_entry_price
    return _ordered(state, held, Intent(purpose, side), price, held.last_candle_time or at, at)


# ------------------------------------------------------------------------------------------ conversions


_MARKS = ("mark_price", "last_candle_time", "updated_at", "seen", "pending", "overflowed")


def moved(before: Position | None, after: Position) -> bool:
    """Whether ``after`` differs from ``before`` in more than its marks and backlog (what the
    ``positions`` topic is told of: its holding, money, levels, orders or trades)."""
    if before is None:
        return True
    unmarked = {name: getattr(before, name) for name in _MARKS}
    return after.derive(**unmarked) != before


def holding_of(position: Position) -> Holding:
    return Holding(
        capital=position.capital,
        cash=position.cash,
        quantity=position.quantity,
        average_price=position.average_entry_price,
        realized_pnl=position.realized_pnl,
        fees=position.fees,
        open_fees=position.open_fees,
    )


def with_holding(position: Position, holding: Holding) -> Position:
    return position.derive(
        cash=holding.cash,
        quantity=holding.quantity,
        average_entry_price=holding.average_price,
        realized_pnl=holding.realized_pnl,
        fees=holding.fees,
        open_fees=holding.open_fees,
    )


def levels_of(position: Position) -> Levels:
    return Levels(
        long=position.quantity > _ZERO,
        stop_loss=position.stop_loss,
        take_profit=position.take_profit,
        trailing_pct=position.trailing_pct,
        best=position.best_price,
    )


def with_levels(position: Position, levels: Levels) -> Position:
    return position.derive(
        stop_loss=levels.stop_loss,
        take_profit=levels.take_profit,
        trailing_pct=levels.trailing_pct,
        best_price=levels.best,
    )


def max_time(position: Position | None, at: datetime) -> datetime:
    return at if position is None else max(position.updated_at, at)
