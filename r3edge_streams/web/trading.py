"""Trading views: a session's position, trades, equity and orders; an order's lineage; an account's exposure.

Reads (``read`` token), each answered by the worker that owns the key:

- ``GET /sessions/{id}/position``: the ``positions`` table (a flat position with the session's
  capital before its first fill), with equity and unrealised PnL at the last price seen;
- ``GET /sessions/{id}/trades``: its round trips (``trades`` table), oldest first;
- ``GET /sessions/{id}/equity``: capital, then equity after each round trip, then now;
- ``GET /sessions/{id}/orders``: its orders with their fills, gathered from every owner of ``orders``;
- ``GET /orders/{id}``: an order's lineage, "why did it trade?": the candle and the signal that
  caused it, the decision (purpose, reason, the price it decided at), the sized order and every
  execution report, with its fills;
- ``GET /accounts/{name}/exposure``: what an account's open orders and positions commit, the
  orders it has at its venue, whether it is halted (and why), and its last reconciliation with
  its exchange on the owning worker (unknown orders, the error that halts it).

Writes nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from faust import web

from ..application import app
from ..domain.ledger import Holding
from ..domain.sessions import session_id_error
from ..domain.tracking import fresh, holding_of
from ..models import OrderState, Position, SessionState, to_json
from ..reconciliation import AccountCheck, reconciler
from ..tables.exposure import exposure
from ..tables.orders import orders
from ..tables.positions import positions
from ..tables.sessions import sessions
from ..tables.trades import trades
from .auth import READ, require
from .cluster import gather, local_items, routed
from .inputs import query_of, single
from .responses import HttpError, utc_iso

LOCAL_SCOPE = "local"
MAX_ID = 200


@app.page("/sessions/{session_id}/position")
class SessionPosition(web.View):
    """``GET``: the session's position, cash, fees, levels, the order in flight, equity and PnL."""

    @require(READ)
    async def get(self, request: web.Request, session_id: str) -> web.Response:
        async def local() -> web.Response:
            return self.json(describe_position(_position(_session(session_id))))

        return await routed(self, request, sessions, _checked(session_id), local)


@app.page("/sessions/{session_id}/trades")
class SessionTrades(web.View):
    """``GET``: the session's round trips, oldest first (the latest 1,000)."""

    @require(READ)
    async def get(self, request: web.Request, session_id: str) -> web.Response:
        async def local() -> web.Response:
            _session(session_id)
            log = trades.get(session_id)
            items = [to_json(trade) for trade in (log.trades if log is not None else [])]
            return self.json({"session_id": session_id, "items": items, "count": len(items)})

        return await routed(self, request, sessions, _checked(session_id), local)


@app.page("/sessions/{session_id}/equity")
class SessionEquity(web.View):
    """``GET``: the equity curve: capital at the start, after each round trip, and now."""

    @require(READ)
    async def get(self, request: web.Request, session_id: str) -> web.Response:
        async def local() -> web.Response:
            state = _session(session_id)
            position = _position(state)
            log = trades.get(session_id)
            points = [{"at": utc_iso(state.started_at or state.created_at), "equity": str(position.capital)}]
            equity = position.capital
            for trade in log.trades if log is not None else []:
                equity += trade.pnl
                points.append({"at": utc_iso(trade.exit_time), "equity": str(equity), "trade": trade.number})
            now = describe_position(position)
            points.append({"at": now["updated_at"], "equity": now["equity"]})
            return self.json({"session_id": session_id, "capital": str(position.capital), "points": points})

        return await routed(self, request, sessions, _checked(session_id), local)


@app.page("/sessions/{session_id}/orders")
class SessionOrders(web.View):
    """``GET``: every order of the session with its fills (``?scope=local``: this worker's share)."""

    @require(READ)
    async def get(self, request: web.Request, session_id: str) -> web.Response:
        _checked(session_id)
        path = f"/sessions/{session_id}/orders?scope={LOCAL_SCOPE}"
        if single(query_of(request), "scope") == LOCAL_SCOPE:
            return self.json({"items": _local_orders(session_id)})
        items = await gather(request, orders, path, lambda: _local_orders(session_id))
        items.sort(key=lambda item: (item["created_at"], item["order_id"]))
        return self.json({"session_id": session_id, "items": items, "count": len(items)})


@app.page("/orders/{order_id}")
class OrderLineage(web.View):
    """``GET``: why the order exists and what became of it."""

    @require(READ)
    async def get(self, request: web.Request, order_id: str) -> web.Response:
        if not order_id or len(order_id) > MAX_ID:
            raise HttpError(400, f"must be an order id of at most {MAX_ID} characters", "order_id")

        async def local() -> web.Response:
            state = orders.get(order_id)
            if state is None:
                raise HttpError(404, f"no order {order_id} (an order refused before placing is in executions)")
            return self.json(lineage(state))

        return await routed(self, request, orders, order_id, local)


@app.page("/accounts/{account}/exposure")
class AccountExposureView(web.View):
    """``GET``: the notional an account's open orders and positions commit, order by order."""

    @require(READ)
    async def get(self, request: web.Request, account: str) -> web.Response:
        if not account or len(account) > MAX_ID:
            raise HttpError(400, f"must be an account name of at most {MAX_ID} characters", "account")

        async def local() -> web.Response:
            held = exposure.get(account)
            reservations = [r for r in held.reservations if r.until is None] if held is not None else []
            total = sum((r.notional for r in reservations), Decimal(0))
            waiting = sum(not r.held for r in reservations)
            check = reconciler.checks.get(account)
            return self.json({"account": account, "notional": str(total), "open_orders": waiting,
                              "reservations": [to_json(r) for r in reservations],
                              "venue_orders": list(held.open_orders) if held is not None else [],
                              "halted": held.halted if held is not None else None,
                              "reconciliation": _check(check) if check is not None else None})  # fmt: skip

        return await routed(self, request, exposure, account, local)


def _check(check: AccountCheck) -> dict[str, Any]:
    return {"checked_at": utc_iso(check.checked_at), "exchange": check.exchange, "listed_open": check.listed_open,
            "unknown_orders": list(check.unknown), "error": check.error}  # fmt: skip


def describe_position(position: Position) -> dict[str, Any]:
    """The position as stored, with equity and unrealised PnL at its last price."""
    holding: Holding = holding_of(position)
    return {
        **to_json(position),
        "equity": str(holding.equity(position.mark_price)),
        "unrealized_pnl": str(holding.unrealized_pnl(position.mark_price)),
        "net_realized_pnl": str(position.realized_pnl - position.fees + position.open_fees),
    }


def lineage(state: OrderState) -> dict[str, Any]:
    """Cause, decision, sizing and execution of one order."""
    order = state.order
    return {
        "order_id": order.order_id,
        "session_id": order.session_id,
        "cause": {
            "market": f"{order.exchange}:{order.symbol}:{order.timeframe}",
            "candle_time": utc_iso(order.candle_time) if order.candle_time else None,
            "signal_id": order.signal_id,
        },  # fmt: skip
        "decision": {
            "purpose": order.purpose.value,
            "side": order.side.value,
            "reason": order.reason,
            "decided_at": utc_iso(order.created_at),
            "reference_price": str(order.reference_price),
            "trigger_price": str(order.trigger_price) if order.trigger_price is not None else None,
        },  # fmt: skip
        "order": to_json(order),
        "status": state.status.value,
        "fills": [to_json(fill) for fill in state.fills],
        "executions": [to_json(report) for report in state.executions],
    }


def _local_orders(session_id: str) -> list[dict[str, Any]]:
    prefix = f"{session_id}:"
    return [
        {
            **to_json(state.order),
            "status": state.status.value,
            "fills": [to_json(f) for f in state.fills],
            "reason": state.reason,
        }  # fmt: skip
        for key, state in local_items(orders)
        if key.startswith(prefix) and state.order.session_id == session_id
    ]


def _checked(session_id: str) -> str:
    problem = session_id_error(session_id)
    if problem is not None:
        raise HttpError(400, problem, "session_id")
    return session_id


def _session(session_id: str) -> SessionState:
    state = sessions.get(session_id)
    if state is None:
        raise HttpError(404, f"no session {session_id}", "session_id")
    return state


def _position(state: SessionState) -> Position:
    held = positions.get(state.session_id)  # same key, same partition as the session: local
    return held if held is not None else fresh(state, state.updated_at)
