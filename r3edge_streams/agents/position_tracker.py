"""The PositionTracker: each session's requests taken once, its position moved by them and by its fills.

Consumes ``sessionsrequest`` (signals, price updates with their candle, ticks, status changes)
and ``executions`` (the fills and ends of the session's orders) through one joint channel,
both keyed by sessionId and co-partitioned with ``sessions``, so one agent is the one writer
of a session's ``session_feeds``, ``positions`` and ``trades``. A request first passes the
session's feed (:mod:`r3edge_streams.domain.feeds`: repeats dropped), then the pure step of
:mod:`r3edge_streams.domain.tracking`; a report goes to that step at once (it applies each
report once by its sequence). Effects before state: the raw order (``raworders``),
notifications and the new position (``positions``, when more than its mark moved: the price
requests carry the marks) are confirmed by Kafka before the tables
are written, so a crash in between repeats them under the same ids. A backtest session's result
(its driver's trades and final position) is written as its own, and the session stopped. After each request it
checks the session's auto-stop conditions and, when one is reached, produces the stop on
``sessioncommands``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from faust.types import StreamT

from ..application import app
from ..catalogue import EXECUTIONS, NOTIFICATIONS, POSITIONS, RAWORDERS, SESSIONCOMMANDS, SESSIONSREQUEST
from ..collection import registry
from ..domain.autostop import auto_stop_command, auto_stop_reason, watched
from ..domain.candles import timeframe_delta
from ..domain.feeds import apply_request
from ..domain.sessions import strategy_instance_id
from ..domain.tracking import Tracked, moved, on_report, on_request
from ..models import Candle, OrderPurpose, Position, SessionFeed, SessionRequest, SessionState, TradeLog
from ..models.orders import ExecutionReport
from ..streams import Refusal, consume_each
from ..tables.positions import positions
from ..tables.session_feeds import session_feeds
from ..tables.session_positions import session_positions
from ..tables.sessions import sessions
from ..tables.trades import trades
from ..topics import joint_channel, publish, publish_many

log = logging.getLogger(__name__)
KEPT_TRADES = 1000  # round trips kept per session in the ``trades`` table
CATCH_UP_LIMIT = 1000  # candles read back at most for an entry decided late
CATCH_UP_TIMEOUT = 10.0  # seconds the market's source may take for them
_stopping: dict[str, int] = {}  # session -> version a stop was sent for (not to send it per request)


@app.agent(joint_channel(SESSIONSREQUEST, EXECUTIONS), name="position_tracker")
async def position_tracker_agent(stream: StreamT[bytes]) -> None:
    """Requests through the feed, then the position step; reports straight to the position step."""
    await consume_each(stream, [(SESSIONSREQUEST, take_request), (EXECUTIONS, take_report)])


async def take_request(request: SessionRequest) -> None:
    state = sessions.get(request.session_id)
    following = strategy_instance_id(state.spec) if state is not None else None
    held = session_feeds.get(request.session_id)
    feed = apply_request(held, request, following)
    if feed is not None:
        if state is not None:
            await _apply(request.session_id, on_request(state, positions.get(request.session_id), request))
        session_feeds[request.session_id] = feed
    await _watch(state, feed or held, request)


async def take_report(report: ExecutionReport) -> None:
    state = sessions.get(report.session_id)
    if state is None:
        raise Refusal(f"no session {report.session_id} for the report of order {report.order_id}")
    position = positions.get(report.session_id)
    result = on_report(state, position, report, await _catch_up(state, position, report))
    if result.problem is not None:
        raise Refusal(result.problem)
    await _apply(report.session_id, result)


async def _catch_up(state: SessionState, position: Position | None, report: ExecutionReport) -> Sequence[Candle]:
    """The market's candles from an entry's fill candle to the last one the session saw, when the
    session saw that candle before the entry was decided and no longer holds it (a backlog that
    overflowed while an order travelled): read from the market's source, so its levels are
    checked on them too. An unreachable source leaves them unchecked, logged; the next candle is
    checked as always."""
    last = position.last_candle_time if position is not None else None
    fill = report.candle_time
    if report.purpose is not OrderPurpose.ENTRY or report.last_quantity <= 0 or fill is None or last is None:
        return ()
    if not _guarded(state) or not _news(position, report):
        return ()  # no level to check the candles against, or a report already applied
    if fill > last or (position is not None and any(c.open_time <= fill for c in position.seen)):
        return ()  # nothing passed yet, or the candles seen while it travelled cover it
    spec = state.spec
    count = min(int((last - fill) / timeframe_delta(spec.timeframe)) + 1, CATCH_UP_LIMIT)
    try:
        fetched = await asyncio.wait_for(
            registry.get(spec.exchange).fetch_candles(spec.symbol, spec.timeframe, fill, count), CATCH_UP_TIMEOUT
        )
    except Exception as exc:  # noqa: BLE001 - a source that fails must not stop the session's fills
        log.warning("session %s: candles since %s unavailable (%r): levels checked from the next one",
                    state.session_id, fill.isoformat(), exc)  # fmt: skip
        return ()
    return [c for c in fetched if isinstance(c, Candle) and fill <= c.open_time <= last]


def _guarded(state: SessionState) -> bool:
    risk = state.spec.risk
    return any(level is not None for level in (risk.stop_loss_pct, risk.take_profit_pct, risk.trailing_stop_pct))


def _news(position: Position | None, report: ExecutionReport) -> bool:
    flight = position.in_flight if position is not None else None
    return flight is not None and flight.order_id == report.order_id and report.sequence > flight.reports


async def _apply(session_id: str, result: Tracked) -> None:
    """Effects first (confirmed), then the tables."""
    if result.order is not None:
        await publish(RAWORDERS, result.order)
    await publish_many(NOTIFICATIONS, result.notices)
    if result.position is not None and moved(positions.get(session_id), result.position):
        await publish(POSITIONS, result.position)
    if result.command is not None:
        await publish(SESSIONCOMMANDS, result.command)
    made = [*result.trades, *([result.trade] if result.trade is not None else [])]
    if made:
        log_ = trades.get(session_id) or TradeLog(session_id=session_id)
        known = {t.number for t in log_.trades}
        fresh = [t for t in made if t.number not in known]
        if fresh:
            trades[session_id] = log_.derive(trades=[*log_.trades, *fresh][-KEPT_TRADES:])
    if result.position is not None:
        positions[session_id] = result.position


async def _watch(state: SessionState | None, feed: SessionFeed | None, request: SessionRequest) -> None:
    if state is None or _stopping.get(state.session_id) == state.version or not watched(state):
        return
    reason = auto_stop_reason(state, feed, session_positions.get(state.session_id), request.at)
    if reason is not None:
        log.info("session %s: %s", state.session_id, reason)
        await publish(SESSIONCOMMANDS, auto_stop_command(state, reason, max(request.at, state.updated_at)))
        _stopping[state.session_id] = state.version
