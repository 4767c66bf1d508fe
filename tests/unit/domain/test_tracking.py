"""The PositionTracker's step, driven event by event: orders decided, fills applied once, levels
checked on the candles, trades and equity; expected figures worked out here from the fills."""

from __future__ import annotations

from decimal import Decimal

from r3edge_streams.domain.tracking import Tracked, moved, on_candle, on_report, on_signal, on_status, quiet, tracks
from r3edge_streams.models import Direction, OrderPurpose, OrderSide, OrderStatus, SessionMode, SessionStatus
from r3edge_streams.models.orders import ExecutionReport, RawOrder
from r3edge_streams.models.positions import Position
from tests.kit.factories import MINUTE, T0, bar, d, session, signal

LONG, SHORT = Direction.LONG, Direction.SHORT


def report(order: RawOrder, minute: int, quantity: str, price: str, fee: str = "0", sequence: int = 1,
           status: OrderStatus = OrderStatus.FILLED) -> ExecutionReport:  # fmt: skip
    """The paper fill of ``order`` at the open of the candle ``minute`` (its whole quantity)."""
    return ExecutionReport(execution_id=f"{order.order_id}:{sequence}", order_id=order.order_id,
                           session_id=order.session_id, status=status, filled_quantity=d(quantity),
                           at=T0 + minute * MINUTE, average_price=d(price), fee=d(fee), sequence=sequence,
                           side=order.side, purpose=order.purpose, last_quantity=d(quantity), last_price=d(price),
                           last_fee=d(fee), candle_time=T0 + minute * MINUTE)  # fmt: skip


def step(result: Tracked, previous: Position | None = None) -> Position:
    assert result.problem is None, result.problem
    position = result.position or previous
    assert position is not None
    return position


def test_a_long_round_trip_from_signals_to_trade() -> None:
    state = session(capital="10000")
    entered = on_signal(state, None, signal(1, LONG, "100"), T0 + 2 * MINUTE)
    order = entered.order
    assert order is not None and (order.purpose, order.side, order.order_id) == (
        OrderPurpose.ENTRY,
        OrderSide.BUY,
        "s1:o1",
    )
    assert (order.equity, order.cash, order.reference_price) == (d(10000), d(10000), d(100))
    held = step(on_report(state, step(entered), report(order, 2, "9.9", "101", "1")))
    assert held.quantity == d("9.9") and held.in_flight is None and held.cash == d(10000) - d("999.9") - d(1)
    assert on_signal(state, held, signal(3, LONG, "103"), T0 + 4 * MINUTE).order is None  # a repeat does nothing
    exiting = on_signal(state, held, signal(5, SHORT, "104"), T0 + 6 * MINUTE)
    exit_order = exiting.order
    assert exit_order is not None and exit_order.purpose is OrderPurpose.EXIT and exit_order.quantity == d("9.9")
    closed = on_report(state, step(exiting), report(exit_order, 6, "9.9", "105", "1.1"))
    trade = closed.trade
    assert trade is not None and (trade.entry_price, trade.exit_price, trade.exit_reason) == (
        d(101),
        d(105),
        OrderPurpose.EXIT,
    )
    assert trade.pnl == d("9.9") * 4 - d(1) - d("1.1") and trade.fees == d("2.1")
    flat = step(closed)
    assert flat.quantity == 0 and flat.cash == d(10000) + trade.pnl and flat.trades == 1


def test_each_report_applies_once_and_a_stranger_report_is_a_problem() -> None:
    state = session()
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    partial = report(entered.order, 2, "4", "101", sequence=1, status=OrderStatus.PARTIALLY_FILLED)
    once = step(on_report(state, step(entered), partial))
    assert on_report(state, once, partial) == Tracked()  # the same report again: nothing
    done = step(on_report(state, once, report(entered.order, 2, "5", "102", sequence=2)))
    assert done.quantity == d(9) and done.average_entry_price == (d(404) + d(510)) / 9
    assert on_report(state, done, report(entered.order, 2, "5", "102", sequence=2)) == Tracked()  # after its end
    stranger = on_report(state, done, report(entered.order.derive(order_id="s1:o9"), 2, "1", "1"))
    assert stranger.problem is not None and "s1:o9" in stranger.problem


def test_a_stop_loss_fires_on_the_first_candle_reaching_it_even_one_seen_before_the_fill_came_back() -> None:
    state = session(stop_loss_pct="2", take_profit_pct="5")
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    waiting = step(on_candle(state, step(entered), bar(2, "100", "101", "97", "99"), T0 + 3 * MINUTE))
    assert waiting.seen and waiting.in_flight is not None  # the entry still travels
    filled = on_report(state, waiting, report(entered.order, 2, "10", "100"))
    stop = filled.order
    # entry 100, stop 2 % below = 98; the candle of the fill reached 97: a stop at its level
    assert stop is not None and stop.purpose is OrderPurpose.STOP_LOSS and stop.trigger_price == d(98)
    assert stop.quantity == d(10) and stop.side is OrderSide.SELL


def test_take_profit_and_gaps_on_later_candles() -> None:
    state = session(stop_loss_pct="2", take_profit_pct="5")
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    held = step(on_report(state, step(entered), report(entered.order, 2, "10", "100")))
    quiet = step(on_candle(state, held, bar(2, "100", "104", "99", "103"), T0 + 3 * MINUTE), held)
    assert quiet.in_flight is None
    gap = on_candle(state, quiet, bar(3, "107", "108", "106", "107"), T0 + 4 * MINUTE)
    assert gap.order is not None and gap.order.purpose is OrderPurpose.TAKE_PROFIT and gap.order.trigger_price == d(107)
    # a repeated candle is ignored, so the exit is decided once
    assert on_candle(state, step(gap), bar(3, "107", "108", "106", "107"), T0 + 4 * MINUTE) == Tracked()


def test_a_missed_candle_is_told_and_the_next_range_still_checked() -> None:
    state = session(stop_loss_pct="2")
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    held = step(on_report(state, step(entered), report(entered.order, 2, "10", "100")))
    held = step(on_candle(state, held, bar(2, "100", "101", "99", "100"), T0), held)
    after_gap = on_candle(state, held, bar(5, "97", "99", "96", "98"), T0)  # candles 3 and 4 never came
    assert [n.category for n in after_gap.notices] == ["position.candles_missed"]
    assert after_gap.order is not None and after_gap.order.trigger_price == d(97)  # gapped below 98: at the open


def test_suspended_sessions_exit_but_do_not_enter_and_a_stop_closes_unless_kept() -> None:
    suspended = session(status=SessionStatus.SUSPENDED, stop_loss_pct="2")
    blocked = on_signal(suspended, None, signal(1, LONG, "100"), T0)
    assert blocked.order is None and [n.category for n in blocked.notices] == ["position.entry_blocked"]
    state = session()
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    held = step(on_report(state, step(entered), report(entered.order, 2, "10", "100")))
    assert on_signal(suspended, held, signal(3, SHORT, "99"), T0).order is not None  # exits still work
    stopped = session(status=SessionStatus.STOPPED)
    kept = on_status(stopped, held, SessionStatus.STOPPED, keep_positions=True, at=T0)
    assert kept.position is None and kept.order is None  # left as it is
    assert [n.category for n in kept.notices] == ["session.wound_down.kept"]
    closing = on_status(stopped, held, SessionStatus.STOPPED, keep_positions=False, at=T0)
    assert closing.order is not None and closing.order.purpose is OrderPurpose.SESSION_STOP
    assert on_signal(stopped, step(closing), signal(4, LONG, "99"), T0) == Tracked()


def test_a_stop_during_an_entry_closes_the_position_once_the_entry_fills() -> None:
    state = session()
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    stopped = session(status=SessionStatus.STOPPED)
    closing = step(on_status(stopped, step(entered), SessionStatus.STOPPED, keep_positions=False, at=T0))
    assert closing.closing and closing.in_flight is not None
    filled = on_report(stopped, closing, report(entered.order, 2, "10", "100"))
    assert filled.order is not None and filled.order.purpose is OrderPurpose.SESSION_STOP
    assert filled.order.quantity == Decimal(10)


def test_signals_that_come_while_the_entry_travels_are_decided_in_candle_order_once_it_fills() -> None:
    state = session()
    entered = on_signal(state, None, signal(1, LONG, "100"), T0 + 2 * MINUTE)
    assert entered.order is not None
    waiting = step(entered)
    waiting = step(on_signal(state, waiting, signal(4, SHORT, "103"), T0 + 5 * MINUTE), waiting)
    waiting = step(on_signal(state, waiting, signal(7, LONG, "99"), T0 + 8 * MINUTE), waiting)
    assert waiting.in_flight is not None and len(waiting.pending) == 2  # nothing decided while it travels
    filled = on_report(state, waiting, report(entered.order, 2, "10", "100"))
    exit_order = filled.order  # the SHORT of candle 4, decided at its close, not at the fill's time
    assert exit_order is not None and exit_order.purpose is OrderPurpose.EXIT
    assert (exit_order.candle_time, exit_order.created_at, exit_order.reference_price) == (
        T0 + 4 * MINUTE,
        T0 + 5 * MINUTE,
        d(103),
    )
    left = step(filled)
    assert [s.direction for s in left.pending] == [LONG]  # the LONG of candle 7 waits for the exit
    flat = on_report(state, left, report(exit_order, 5, "10", "103"))
    again = flat.order
    assert flat.trade is not None and again is not None and again.purpose is OrderPurpose.ENTRY
    assert (again.candle_time, again.created_at) == (T0 + 7 * MINUTE, T0 + 8 * MINUTE)


def test_a_refused_entry_is_told_and_not_retried_until_the_next_signal() -> None:
    state = session()
    entered = on_signal(state, None, signal(1, LONG, "100"), T0 + 2 * MINUTE)
    assert entered.order is not None
    refused = report(entered.order, 2, "0", "100", status=OrderStatus.REJECTED).derive(last_price=None)
    result = on_report(state, step(entered), refused)
    assert result.order is None and [n.category for n in result.notices] == ["order.rejected"]
    after = step(result)
    assert after.in_flight is None and after.quantity == 0 and after.wanted is None
    assert on_signal(state, after, signal(3, LONG, "101"), T0 + 4 * MINUTE).order is not None


def test_an_entry_decided_late_checks_its_levels_on_the_candles_its_source_gives_back() -> None:
    state = session(take_profit_pct="1")
    held = None
    for minute in range(2, 9):  # the prices of candles 2-8 came before the signal of candle 1
        held = step(on_candle(state, held, bar(minute, "100", "100", "100", "100"), T0 + (minute + 1) * MINUTE), held)
    entered = on_signal(state, held, signal(1, LONG, "100"), T0 + 9 * MINUTE)
    assert entered.order is not None and step(entered).seen == []
    history = [bar(m, "100", "101.5" if m == 5 else "100", "100", "100") for m in range(2, 12)]  # 9-11: unseen yet
    filled = on_report(state, step(entered), report(entered.order, 2, "10", "100"), history)
    exit_order = filled.order  # candle 5 reached the 1 % take-profit (101) after the fill at candle 2's open
    assert exit_order is not None and exit_order.purpose is OrderPurpose.TAKE_PROFIT
    assert (exit_order.candle_time, exit_order.trigger_price) == (T0 + 5 * MINUTE, d(101))
    without = on_report(state, step(entered), report(entered.order, 2, "10", "100"))
    assert without.order is None  # without them, only the candles still to come would be checked


def test_the_positions_topic_hears_of_money_and_orders_not_of_a_new_mark() -> None:
    state = session()
    entered = step(on_signal(state, None, signal(1, LONG, "100"), T0 + 2 * MINUTE))
    assert moved(None, entered)
    marked = entered.derive(mark_price=d(101), last_candle_time=T0 + 3 * MINUTE, updated_at=T0 + 4 * MINUTE)
    assert not moved(entered, marked)
    assert moved(marked, marked.derive(in_flight=None)) and moved(marked, marked.derive(cash=d(1)))


def test_only_paper_and_live_sessions_are_tracked_on_the_kafka_path() -> None:
    state = session()
    assert tracks(state)
    backtest = state.derive(spec=state.spec.derive(mode=SessionMode.BACKTEST))
    assert not tracks(backtest)


def test_a_stop_reports_what_became_of_the_position_once_it_is_settled() -> None:
    """Entered 10 at 100 (fee 1), closed by the stop at 99 (fee 0.5): -10 gross, -11.5 net of 1.5 fees."""
    state = session()
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    held = step(on_report(state, step(entered), report(entered.order, 2, "10", "100", fee="1")))
    stopped = session(status=SessionStatus.STOPPED)
    closing = on_status(stopped, held, SessionStatus.STOPPED, keep_positions=False, at=T0)
    assert closing.order is not None and closing.notices == []  # nothing settled yet
    closed = on_report(stopped, step(closing), report(closing.order, 3, "10", "99", fee="0.5"))
    capital = held.capital
    [notice] = [n for n in closed.notices if n.category.startswith("session.wound_down")]
    assert notice.category == "session.wound_down.closed" and notice.severity.value == "info"
    assert "1 trades, realised PnL -11.5 net of 1.5 fees" in notice.body
    assert f"equity {capital - Decimal('11.5'):f}" in notice.body

    refused = report(closing.order, 3, "0", "99", status=OrderStatus.REJECTED).derive(
        last_quantity=d(0), last_price=None, reason="insufficient balance"
    )
    stuck = on_report(stopped, step(closing), refused)
    [warning] = [n for n in stuck.notices if n.category.startswith("session.wound_down")]
    assert warning.category == "session.wound_down.not_closed" and warning.severity.value == "critical"
    assert "insufficient balance" in warning.body and "10 still open" in warning.body

    never = on_status(session(status=SessionStatus.FAILED), None, SessionStatus.FAILED, keep_positions=False, at=T0)
    assert [n.category for n in never.notices] == ["session.wound_down.flat"]
    assert step(never).closing and never.order is None
    recovered = on_status(session(), step(never), SessionStatus.ACTIVE, keep_positions=False, at=T0)
    again = on_signal(session(), step(recovered), signal(5, LONG, "100"), T0)
    assert not step(recovered).closing and again.order is not None  # a recovered session trades again


def test_a_backlog_that_overflows_is_told_once_and_the_source_s_candles_still_stop_the_entry() -> None:
    """150 candles while the entry travels: the oldest 50 are dropped (told once); candle 10's dip
    below the 2 % stop is among them, and the candles read again from the source fire it."""
    state = session(stop_loss_pct="2")
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    held, told = step(entered), []
    candles = [bar(m, "100", "101", "97" if m == 10 else "99.5", "100") for m in range(2, 152)]
    for candle in candles:
        result = on_candle(state, held, candle, T0)
        told += [n.category for n in result.notices]
        held = step(result, held)
    assert told == ["position.backlog_overflow"] and len(held.seen) == 100 and held.seen[0].open_time > T0 + 10 * MINUTE
    without = on_report(state, held, report(entered.order, 2, "10", "100"))
    assert without.order is None  # what was kept does not show the dip
    caught = on_report(state, held, report(entered.order, 2, "10", "100"), history=candles)
    assert caught.order is not None and caught.order.purpose is OrderPurpose.STOP_LOSS
    assert caught.order.candle_time == T0 + 10 * MINUTE and caught.order.trigger_price == d(98)
    assert not step(caught).overflowed  # the next order is told of afresh


def test_a_position_a_stop_closed_is_not_bought_back_on_the_same_signal() -> None:
    """LONG at 1, filled at 100; the stop (2 %) fires at 98: flat again, and the LONG that opened
    the position does not open another one; the next LONG does."""
    state = session(stop_loss_pct="2")
    entered = on_signal(state, None, signal(1, LONG, "100"), T0)
    assert entered.order is not None
    held = step(on_report(state, step(entered), report(entered.order, 2, "10", "100")))
    stopped = on_candle(state, held, bar(3, "99", "99", "97", "98"), T0 + 4 * MINUTE)
    assert stopped.order is not None and stopped.order.purpose is OrderPurpose.STOP_LOSS
    closed = on_report(state, step(stopped, held), report(stopped.order, 3, "10", "98"))
    assert closed.trade is not None and closed.order is None  # no entry on the stale LONG
    flat = step(closed)
    assert flat.quantity == 0 and flat.wanted is None
    assert on_candle(state, flat, bar(4, "98", "99", "97", "98"), T0 + 5 * MINUTE).order is None
    again = on_signal(state, flat, signal(5, LONG, "98"), T0 + 6 * MINUTE)
    assert again.order is not None and again.order.purpose is OrderPurpose.ENTRY


MARK_FIELDS = {"mark_price", "last_candle_time", "updated_at"}


def _changed(before: Position, after: Position) -> set[str]:
    return {name for name in Position._options.fields if getattr(before, name) != getattr(after, name)}


def test_a_quiet_candle_only_marks_the_position_and_any_other_is_not_quiet() -> None:
    """``quiet`` (which the backtest driver skips by) against what ``on_candle`` itself does."""
    bars = [bar(m, o, h, lo, c) for m, (o, h, lo, c) in enumerate([
        ("100", "101", "99", "100"), ("100", "103", "99.5", "102"), ("102", "102.5", "101", "101"),
        ("101", "104", "100", "103"), ("103", "103", "97.5", "98"), ("98", "99", "96", "97"),
        ("97", "106", "97", "105"), ("105", "105", "104", "104.5"),
    ], start=3)]  # fmt: skip
    flat = step(on_candle(session(), None, bar(2, "100", "100", "100", "100"), T0 + 3 * MINUTE))
    held = {}
    risks = {"levels": {"stop_loss_pct": "2", "take_profit_pct": "5"}, "trailing": {"trailing_stop_pct": "1.5"}}
    for name, risk in {**risks, "none": {}}.items():
        state = session(**risk)
        entered = on_signal(state, None, signal(1, LONG, "100"), T0)
        assert entered.order is not None
        held[name] = (state, step(on_report(state, step(entered), report(entered.order, 2, "10", "100"))))
    cases = [(session(), flat), *held.values()]
    verdicts = []
    for state, position in cases:
        for candle in bars:
            result = on_candle(state, position, candle, candle.open_time + MINUTE)
            only_marked = result.order is None and _changed(position, step(result, position)) <= MARK_FIELDS
            assert not quiet(position, candle) or only_marked, (position.stop_loss, candle.open_time)
            verdicts.append(quiet(position, candle))
    assert any(verdicts) and not all(verdicts), "both kinds of candle are met"
    state, trailing = held["trailing"]
    assert not quiet(trailing, bars[1]), "a new high moves the trailing stop"
    state, levels = held["levels"]
    assert not quiet(levels, bars[4]) and not quiet(levels, bars[6]), "the stop and the take-profit fire"
    assert quiet(levels, bars[0]) and quiet(held["none"][1], bars[4])
    assert not quiet(None, bars[0]) and not quiet(step(on_signal(session(), flat, signal(3, LONG, "100"), T0)), bars[1])
