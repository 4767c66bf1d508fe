"""The OpenAPI description of the worker's HTTP API, served at ``GET /openapi.json``.

In: the records that travel in bodies (their JSON schemas are derived from the record fields,
so a field added to a record shows up here) and the list of operations below. Out: an OpenAPI
3.0 document. A test checks that every route the app serves is described and that every
described operation exists; another fuzzes the API from this document (schemathesis). The
answers the gate (``web/gate.py``) may give to any operation are added to all of them in one
place, :func:`with_gate_errors`.
"""

from __future__ import annotations

import enum
import typing
from datetime import datetime
from decimal import Decimal
from typing import Any

from faust import web

from ..application import app
from ..domain.backtests import RANKED_METRICS
from ..domain.markets import SYMBOL_RE, TIMEFRAMES
from ..domain.sessions import MAX_REFRESH_SECONDS, SESSION_ID_RE
from ..exchanges.registry import REPLAY_ID, ccxt_exchanges
from ..models import (
    AutoStop,
    BacktestRange,
    FillModel,
    RiskParams,
    SessionFeed,
    SessionSpec,
    SessionState,
    SessionStatus,
    Signal,
)
from ..models.base import Record
from ..strategies.registry import available
from .auth import PUBLIC_PATHS
from .sessions import MAX_OFFSET, MAX_PAGE

_NONE = type(None)
DECIMAL = {
    "type": "string",
    "pattern": r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$",
    "description": "a decimal number, as a string (money is never a float)",
}
_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    bool: {"type": "boolean"},
    Decimal: DECIMAL,
    datetime: {"type": "string", "format": "date-time"},
}
_COMPONENTS: tuple[type[Record], ...] = (
    SessionSpec,
    BacktestRange,
    RiskParams,
    AutoStop,
    FillModel,
    SessionState,
    SessionFeed,
    Signal,
)


def schema_of_type(typ: Any) -> dict[str, Any]:
    """The JSON schema of one record field type."""
    origin = typing.get_origin(typ)
    if origin is typing.Union:
        options = [arg for arg in typing.get_args(typ) if arg is not _NONE]
        return {**schema_of_type(options[0]), "nullable": True}
    if typ is Any:
        return {}
    if origin is dict:
        return {"type": "object"}
    if origin is list:
        (item,) = typing.get_args(typ) or (Any,)
        return {"type": "array", "items": schema_of_type(item)}
    if typ in _SCALARS:
        return dict(_SCALARS[typ])
    if isinstance(typ, type) and issubclass(typ, enum.Enum):
        return {"type": "string", "enum": [member.value for member in typ]}
    if isinstance(typ, type) and issubclass(typ, Record):
        return {"$ref": f"#/components/schemas/{typ.__name__}"}
    raise TypeError(f"no JSON schema for {typ!r}")


def schema_of(model: type[Record], optional: bool = False) -> dict[str, Any]:
    """The JSON schema of a record as the strict codec reads it (no unknown fields)."""
    fields = model._options.fields
    required = [] if optional else [name for name in fields if name not in model._options.defaults]
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {name: schema_of_type(typ) for name, typ in fields.items()},
    }
    if required:
        schema["required"] = required
    return schema


def _spec_schema(optional: bool) -> dict[str, Any]:
    """A session spec, with the value rules a client can know in advance."""
    schema = schema_of(SessionSpec, optional)
    fields = schema["properties"]
    fields["refresh_seconds"].update(minimum=1, maximum=MAX_REFRESH_SECONDS)
    fields["strategy"].update(enum=sorted(available()))
    fields["exchange"].update(enum=[REPLAY_ID, *sorted(ccxt_exchanges)])
    fields["symbol"].update(pattern=SYMBOL_RE.pattern, example="BTC/USDT")
    fields["timeframe"].update(enum=list(TIMEFRAMES))
    return schema


def _error() -> dict[str, Any]:
    return {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _error() for status in statuses}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


SESSION_ID = {
    "name": "session_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": SESSION_ID_RE.pattern},
}
_LIST = {
    "type": "object",
    "required": ["items"],
    "properties": {"items": {"type": "array", "items": {"type": "object"}}},
}
_ACCEPTED = _json(
    "accepted: the decision takes longer than the wait; read the location later",
    {"type": "object", "required": ["status", "location"]},
)
_WRITE_ERRORS = (400, 403, 404, 409, 415, 422, 503)
#: what the gate answers for any operation: a malformed URL or header, a body too large
GATE_ERRORS = (400, 413)
#: and, before routing, for any operation that needs a token
TOKEN_ERRORS = (401,)
_DESCRIPTION = (
    "Any worker answers any request (routed to the worker that owns the key). Errors are JSON "
    f'{{"error": ..., "field": ...}}. Every path but {" and ".join(sorted(PUBLIC_PATHS))} needs a '
    "bearer token first (401), so an unknown path or method answers 401 without one, and 404 or 405 "
    "(with Allow) with one."
)
_READ = [{"bearer": ["read"]}]
_TRADE = [{"bearer": ["trader"]}]


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_SCOPE = _query("scope", {"type": "string", "enum": ["local"]}, "only this worker's share (used between workers)")


def _paths() -> dict[str, Any]:
    session_filters = [
        _query(name, {"type": "string"}) for name in ("strategy", "exchange", "symbol", "timeframe", "mode")
    ]
    status_filter = _query("status", {"type": "string", "enum": [s.value for s in SessionStatus]})
    paging = [
        _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}),
    ]
    session_answer = _json("the session after the command", _ref("SessionAnswer"))
    return {
        "/sessions": {
            "get": {
                "summary": "List sessions (gathered from every worker)",
                "security": _READ,
                "parameters": [_SCOPE, status_filter, *session_filters, *paging],
                "responses": {"200": _json("a page of sessions", _LIST), **_errors(400, 403, 503)},
            },
            "post": {
                "summary": "Create a session",
                "security": _TRADE,
                "requestBody": _body(_ref("NewSession")),
                "responses": {
                    "201": _json("created", _ref("SessionAnswer")),
                    "200": session_answer,
                    "202": _ACCEPTED,
                    **_errors(*_WRITE_ERRORS),
                },
            },
        },
        "/sessions/{session_id}": {
            "parameters": [SESSION_ID],
            "get": {
                "summary": "One session and its feed",
                "security": _READ,
                "responses": {"200": _json("the session", _ref("SessionView")), **_errors(400, 403, 404, 503)},
            },
            "patch": {
                "summary": "Modify the spec (versioned; applies from the next candle)",
                "security": _TRADE,
                "requestBody": _body(_ref("SessionChange")),
                "responses": {"200": session_answer, "202": _ACCEPTED, **_errors(*_WRITE_ERRORS)},
            },
            "delete": {
                "summary": "Delete a created, stopped or failed session",
                "security": _TRADE,
                "responses": {
                    "200": _json("deleted", {"type": "object", "required": ["deleted"]}),
                    "202": _ACCEPTED,
                    **_errors(*_WRITE_ERRORS),
                },
            },
        },
        "/sessions/{session_id}/{action}": {
            "parameters": [
                SESSION_ID,
                {
                    "name": "action",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["start", "stop", "suspend", "recover"]},
                },
            ],
            "post": {
                "summary": "A lifecycle command",
                "security": _TRADE,
                "requestBody": _body(_ref("ActionOptions"), required=False),
                "responses": {"200": session_answer, "202": _ACCEPTED, **_errors(*_WRITE_ERRORS)},
            },
        },
        **_trading_paths(),
        **_backtest_paths(),
        "/strategies": {
            "get": {
                "summary": "Strategy instances",
                "security": _READ,
                "parameters": [_SCOPE, _query("active", {"type": "string", "enum": ["true", "false"]})],
                "responses": {"200": _json("strategy instances", _LIST), **_errors(400, 403, 503)},
            },
        },
        "/strategies/{strategy_id}/reset": {
            "parameters": [
                {
                    "name": "strategy_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
                }
            ],
            "post": {
                "summary": "Give a failed strategy instance a fresh start",
                "security": _TRADE,
                "responses": {"202": _json("reset under way", {"type": "object"}), **_errors(400, 403, 404, 409, 503)},
            },
        },
        "/workloads": {
            "get": {
                "summary": "Markets collected, their holders and collection state",
                "security": _READ,
                "parameters": [
                    _SCOPE,
                    *[_query(n, {"type": "string"}) for n in ("exchange", "symbol", "timeframe")],
                    _query("active", {"type": "string", "enum": ["true", "false"]}),
                ],
                "responses": {"200": _json("workloads", _LIST), **_errors(400, 403, 503)},
            },
        },
        "/health": {
            "get": {
                "summary": "Liveness and partition assignment",
                "security": [],
                "responses": {"200": _json("this worker", {"type": "object", "required": ["status"]})},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": _json("OpenAPI 3.0", {"type": "object"})},
            }
        },
    }


def _read_view(summary: str, parameter: dict[str, Any], answer: str, *extra: dict[str, Any]) -> dict[str, Any]:
    """A read-only view of one key: 200 with an object, the usual errors."""
    return {
        "parameters": [parameter],
        "get": {
            "summary": summary,
            "security": _READ,
            "parameters": list(extra),
            "responses": {"200": _json(answer, {"type": "object"}), **_errors(400, 403, 404, 502, 503)},
        },
    }


def _trading_paths() -> dict[str, Any]:
    order_id = {"name": "order_id", "in": "path", "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}  # fmt: skip
    account = {"name": "account", "in": "path", "required": True,
               "schema": {"type": "string", "minLength": 1, "maxLength": 200}}  # fmt: skip
    return {
        "/sessions/{session_id}/position": _read_view(
            "The session's position: quantity, average entry, cash, fees, levels, order in flight, equity, PnL",
            SESSION_ID, "the position"),
        "/sessions/{session_id}/trades": _read_view(
            "The session's round trips (entry and exit time and price, quantity, fees, net PnL, exit reason)",
            SESSION_ID, "its trades, oldest first"),
        "/sessions/{session_id}/equity": _read_view(
            "The equity curve: capital, after each round trip, and now", SESSION_ID, "equity points"),
        "/sessions/{session_id}/orders": _read_view(
            "The session's orders with their fills (gathered from every worker)", SESSION_ID, "its orders", _SCOPE),
        "/orders/{order_id}": _read_view(
            "An order's lineage: candle and signal, decision, sized order, execution reports and fills",
            order_id, "the order and why it exists"),
        "/accounts/{account}/exposure": _read_view(
            "What an account's open orders and positions commit (the account-wide limit's ledger)",
            account, "the exposure"),
    }  # fmt: skip


def _backtest_paths() -> dict[str, Any]:
    job_id = {"name": "backtest_id", "in": "path", "required": True,
              "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,100}$"}}  # fmt: skip
    sweep_id = {**job_id, "name": "sweep_id"}
    queued = _json("queued: read its link for progress and the result", {"type": "object", "required": ["status"]})
    html = {"description": "the report as one self-contained page", "content": {"text/html": {"schema": {
        "type": "string"}}}}  # fmt: skip
    metric = _query("metric", {"type": "string", "enum": list(RANKED_METRICS)}, "the metric to rank by")
    return {
        "/backtests": {"post": {
            "summary": "Queue a backtest (session spec fields, from, to; backtest_id optional) on its owner",
            "security": _TRADE, "requestBody": _body(_ref("NewBacktest")),
            "responses": {"202": queued, **_errors(400, 403, 409, 415, 422, 503)}}},
        "/backtests/{backtest_id}": _read_view(
            "A backtest: status, progress while it runs, then its report (metrics, trades, equity) or error",
            job_id, "the backtest"),
        "/backtests/{backtest_id}/report.html": {"parameters": [job_id], "get": {
            "summary": "The report as an HTML page with its charts (no network needed)", "security": _READ,
            "responses": {"200": html, **_errors(400, 403, 404, 409, 502, 503)}}},
        "/sweeps": {"post": {
            "summary": "A parameter grid (and markets) made into backtests spread over the cluster",
            "security": _TRADE, "requestBody": _body(_ref("NewSweep")),
            "responses": {"202": queued, **_errors(400, 403, 409, 415, 422, 503)}}},
        "/sweeps/{sweep_id}": _read_view("A sweep's results ranked by a metric, and its failures", sweep_id,
                                         "the sweep", metric),
        "/candles": {"get": {
            "summary": "A page of a market's closed candles over [from, to) from the local history",
            "security": _READ, "parameters": [
                *[{**_query(n, {"type": "string"}), "required": True} for n in ("exchange", "symbol", "timeframe")],
                {**_query("from", {"type": "string", "format": "date-time"}), "required": True},
                {**_query("to", {"type": "string", "format": "date-time"}), "required": True},
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000})],
            "responses": {"200": _json("candles and the next page's from", {"type": "object"}),
                          **_errors(400, 403, 404, 502, 504)}}},
    }  # fmt: skip


def _backtest_schemas() -> dict[str, Any]:
    spec = _spec_schema(optional=False)
    backtest = {**spec, "required": [r for r in spec["required"] if r not in ("mode", "refresh_seconds")]}
    backtest["properties"] = {**spec["properties"], "backtest_id": {"type": "string"},
                              "from": {"type": "string", "format": "date-time"},
                              "to": {"type": "string", "format": "date-time"}}  # fmt: skip
    backtest["required"] = [*backtest["required"], "from", "to"]
    sweep = {**backtest, "properties": {**backtest["properties"], "sweep_id": {"type": "string"},
                                        "grid": {"type": "object", "additionalProperties": {"type": "array"}},
                                        "markets": {"type": "array", "items": {"type": "object"}},
                                        "metric": {"type": "string"}}}  # fmt: skip
    sweep["properties"].pop("backtest_id")
    sweep["required"] = ["strategy", "grid", "from", "to"]  # the market, or markets
    return {"NewBacktest": backtest, "NewSweep": sweep}


def with_gate_errors(paths: dict[str, Any]) -> dict[str, Any]:
    """``paths`` with the gate's answers added to every operation (401 to those needing a token)."""
    for path, item in paths.items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            statuses = GATE_ERRORS if path in PUBLIC_PATHS else (*GATE_ERRORS, *TOKEN_ERRORS)
            operation["responses"] = {**operation["responses"], **_errors(*statuses)}
    return paths


def _components() -> dict[str, Any]:
    schemas: dict[str, Any] = {model.__name__: schema_of(model) for model in _COMPONENTS}
    schemas["SessionSpec"] = _spec_schema(optional=False)
    new_session = _spec_schema(optional=False)
    new_session["properties"]["session_id"] = {"type": "string", "pattern": SESSION_ID_RE.pattern}
    change = _spec_schema(optional=True)
    change["properties"]["expected_version"] = {"type": "integer", "minimum": 1}
    answer = schema_of(SessionState)
    answer["properties"]["changed"] = {"type": "boolean"}
    view = schema_of(SessionState)
    view["properties"]["feed"] = {**_ref("SessionFeed"), "nullable": True}
    schemas.update(
        **_backtest_schemas(),
        NewSession=new_session,
        SessionChange=change,
        SessionAnswer=answer,
        SessionView=view,
        ActionOptions={
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "expected_version": {"type": "integer", "minimum": 1, "nullable": True},
                "keep_positions": {"type": "boolean", "nullable": True, "description": "stop only"},
            },
        },
        Error={
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}, "field": {"type": "string"}, "errors": {"type": "array"}},
        },
    )
    return schemas


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "r3edge_streams worker API", "version": "1", "description": _DESCRIPTION},
        "paths": with_gate_errors(_paths()),
        "components": {"schemas": _components(), "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": _TRADE,
    }


@app.page("/openapi.json")
class OpenApi(web.View):
    """``GET``: the OpenAPI document (public)."""

    async def get(self, request: web.Request) -> web.Response:
        return self.json(document())
