"""Session views: the whole lifecycle over REST, answered by the worker that owns the session.

Writes (``trader`` token): ``POST /sessions`` (create), ``PATCH /sessions/{id}`` (modify),
``DELETE /sessions/{id}``, ``POST /sessions/{id}/{start|stop|suspend|recover}``. Each is routed
to the owner, checked there against the current state with the same pure rules the session
agent applies (409 with the reason when refused, 200 unchanged when it is a repeat), published
on ``sessioncommands``, and answered with the agent's decision (or 202 if it takes longer than
``R3EDGE_COMMAND_WAIT``). Reads (``read`` token): ``GET /sessions`` (filters, paging) gathered
from every owner, ``GET /sessions/{id}`` with the session's feed.
Reads the ``sessions`` and ``session_feeds`` tables; writes nothing but commands.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from faust import web
from multidict import MultiMapping

from ..application import app, settings
from ..catalogue import SESSIONCOMMANDS
from ..domain.sessions import (
    Applied,
    Deleted,
    Rejected,
    Unchanged,
    apply_command,
    create_command_id,
    session_id_error,
    spec_errors,
)
from ..models import CommandKind, MalformedMessage, SessionCommand, SessionSpec, SessionStatus, parse_model, to_json
from ..services import SESSION_MODES, check_spec, session_outcomes
from ..tables.session_feeds import session_feeds
from ..tables.sessions import sessions
from ..topics import publish
from .auth import READ, TRADER, require
from .cluster import gather, local_items, routed
from .inputs import choice, integer, query_of, single
from .responses import HttpError, json_body

LOCAL_SCOPE = "local"
MAX_PAGE = 1000
MAX_OFFSET = 10**9
_FILTERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "status": lambda item: item["status"],
    "strategy": lambda item: item["spec"]["strategy"],
    "exchange": lambda item: item["spec"]["exchange"],
    "symbol": lambda item: item["spec"]["symbol"],
    "timeframe": lambda item: item["spec"]["timeframe"],
    "mode": lambda item: item["spec"]["mode"],
}
_ACTIONS = {
    "start": CommandKind.START,
    "stop": CommandKind.STOP,
    "suspend": CommandKind.SUSPEND,
    "recover": CommandKind.RECOVER,
}
_ACTION_FIELDS = {"expected_version", "keep_positions"}


@app.page("/sessions")
class SessionCollection(web.View):
    """``POST`` creates a session; ``GET`` lists them (filters, paging; ``?scope=local``: this worker's)."""

    @require(TRADER)
    async def post(self, request: web.Request) -> web.Response:
        payload = await json_body(request)
        session_id = _new_session_id(payload.pop("session_id", None))
        spec = _spec(payload)
        body = json.dumps({"session_id": session_id, **to_json(spec)}).encode()

        async def local() -> web.Response:
            command = SessionCommand(
                command_id=create_command_id(session_id),
                session_id=session_id,
                kind=CommandKind.CREATE,
                issued_at=_now(),
                spec=spec,
            )
            return await _submit(self, command, created=True)

        return await routed(self, request, sessions, session_id, local, body=body)

    @require(READ)
    async def get(self, request: web.Request) -> web.Response:
        query = query_of(request)
        if choice(query, "scope", (LOCAL_SCOPE,)) == LOCAL_SCOPE:
            return self.json({"items": _local_sessions()})
        wanted = _filters(query)
        limit, offset = _page(query)
        items = await gather(request, sessions, f"/sessions?scope={LOCAL_SCOPE}", _local_sessions)
        items = [item for item in items if all(_FILTERS[name](item) == value for name, value in wanted.items())]
        items.sort(key=lambda item: (item["created_at"], item["session_id"]))
        page = items[offset : offset + limit]
        following = offset + len(page)
        return self.json(
            {
                "items": page,
                "count": len(page),
                "total": len(items),
                "limit": limit,
                "offset": offset,
                "next_offset": following if following < len(items) else None,
            }
        )


@app.page("/sessions/{session_id}")
class SessionItem(web.View):
    """``GET`` one session and its feed; ``PATCH`` modifies its spec; ``DELETE`` removes it."""

    @require(READ)
    async def get(self, request: web.Request, session_id: str) -> web.Response:
        _check_id(session_id)

        async def local() -> web.Response:
            state = _existing(session_id)
            feed = session_feeds.get(session_id)  # same key, same partition: local
            return self.json({**to_json(state), "feed": to_json(feed) if feed is not None else None})

        return await routed(self, request, sessions, session_id, local)

    @require(TRADER)
    async def patch(self, request: web.Request, session_id: str) -> web.Response:
        _check_id(session_id)
        payload = await json_body(request)
        expected = _expected_version(payload.pop("expected_version", None))

        async def local() -> web.Response:
            state = _existing(session_id)
            spec = _spec({**to_json(state.spec), **payload})
            command = SessionCommand(
                command_id=f"modify:{session_id}:{uuid4().hex}",
                session_id=session_id,
                kind=CommandKind.MODIFY,
                issued_at=_now(),
                spec=spec,
                expected_version=expected,
            )
            return await _submit(self, command)

        return await routed(self, request, sessions, session_id, local)

    @require(TRADER)
    async def delete(self, request: web.Request, session_id: str) -> web.Response:
        _check_id(session_id)

        async def local() -> web.Response:
            _existing(session_id)
            command = SessionCommand(
                command_id=f"delete:{session_id}:{uuid4().hex}",
                session_id=session_id,
                kind=CommandKind.DELETE,
                issued_at=_now(),
            )
            return await _submit(self, command)

        return await routed(self, request, sessions, session_id, local)


@app.page("/sessions/{session_id}/{action}")
class SessionAction(web.View):
    """``POST /sessions/{id}/start|stop|suspend|recover``; optional body ``expected_version``,
    and for stop ``keep_positions`` (leave open positions open)."""

    @require(TRADER)
    async def post(self, request: web.Request, session_id: str, action: str) -> web.Response:
        kind = _ACTIONS.get(action)
        if kind is None:
            raise HttpError(404, f"no action {action!r}; use one of {', '.join(_ACTIONS)}", "action")
        _check_id(session_id)
        options = await _action_options(request, kind)

        async def local() -> web.Response:
            _existing(session_id)
            command = SessionCommand(
                command_id=f"{action}:{session_id}:{uuid4().hex}",
                session_id=session_id,
                kind=kind,
                issued_at=_now(),
                **options,
            )
            return await _submit(self, command)

        return await routed(self, request, sessions, session_id, local)


async def _confirmed(command: SessionCommand) -> None:
    """Publish ``command``; a 503 when Kafka has not confirmed it within the command wait (a
    broker that is slow or without a leader must not hold the view, and the client, forever)."""
    try:
        async with asyncio.timeout(settings.command_wait):
            await publish(SESSIONCOMMANDS, command)
    except TimeoutError:
        session_outcomes.drop(command.command_id)
        raise HttpError(
            503,
            f"Kafka did not confirm the command within {settings.command_wait:g} s; it may still apply: "
            f"read GET /sessions/{command.session_id} before sending it again",
        ) from None


async def _submit(view: web.View, command: SessionCommand, created: bool = False) -> web.Response:
    """Check ``command`` against the current state, publish it, answer with the agent's decision."""
    decision = apply_command(sessions.get(command.session_id), command, SESSION_MODES, check_spec)
    if isinstance(decision, (Rejected, Unchanged)):
        return _answer(view, decision, created)
    future = session_outcomes.expect(command.command_id)
    await _confirmed(command)
    outcome = await session_outcomes.wait(command.command_id, future, settings.command_wait)
    if outcome is None:
        location = f"/sessions/{command.session_id}"
        return view.json(
            {
                "session_id": command.session_id,
                "command_id": command.command_id,
                "status": "accepted",
                "location": location,
            },
            status=202,
            headers={"Location": location},
        )
    return _answer(view, outcome, created)


def _answer(view: web.View, decision: Any, created: bool) -> web.Response:
    if isinstance(decision, Rejected):
        raise HttpError(409, decision.reason, decision.field)
    if isinstance(decision, Deleted):
        return view.json({"session_id": decision.previous.session_id if decision.previous else None, "deleted": True})
    state = decision.state
    body = {**to_json(state), "changed": isinstance(decision, Applied)}
    location = f"/sessions/{state.session_id}"
    if created and isinstance(decision, Applied):
        return view.json(body, status=201, headers={"Location": location})
    return view.json(body, headers={"Location": location})


def _existing(session_id: str) -> Any:
    state = sessions.get(session_id)
    if state is None:
        raise HttpError(404, f"no session {session_id}", "session_id")
    return state


def _check_id(session_id: str) -> None:
    error = session_id_error(session_id)
    if error:
        raise HttpError(400, error, "session_id")


def _new_session_id(requested: Any) -> str:
    """The client's session id (for idempotent retries) or a fresh one."""
    if requested is None:
        return uuid4().hex
    if not isinstance(requested, str) or session_id_error(requested):
        raise HttpError(400, session_id_error(str(requested)) or "must be a string", "session_id")
    return requested


def _spec(payload: dict[str, Any]) -> SessionSpec:
    try:
        spec = parse_model(SessionSpec, payload)
    except MalformedMessage as exc:
        raise HttpError(400, exc.reason, exc.field) from None
    errors = spec_errors(spec, SESSION_MODES, check_spec)
    if errors:
        first = errors[0]
        raise HttpError(
            422, first.message, first.field, errors=[{"field": e.field, "error": e.message} for e in errors]
        )
    return spec


def _expected_version(raw: Any) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 1:
        raise HttpError(400, "must be a positive integer", "expected_version")
    return raw


async def _action_options(request: web.Request, kind: CommandKind) -> dict[str, Any]:
    """The optional body of a lifecycle action."""
    if not request.body_exists or not await request.read():
        return {}  # no body (or an empty one): no options
    payload = await json_body(request)
    unknown = sorted(set(payload) - _ACTION_FIELDS)
    if unknown:
        raise HttpError(400, "unknown field", unknown[0])
    keep = payload.get("keep_positions")
    if keep is not None and (kind is not CommandKind.STOP or not isinstance(keep, bool)):
        raise HttpError(400, "a boolean, for stop only", "keep_positions")
    return {"expected_version": _expected_version(payload.get("expected_version")), "keep_positions": keep}


def _filters(query: MultiMapping[str]) -> dict[str, str]:
    choice(query, "status", [s.value for s in SessionStatus])
    found = {name: single(query, name) for name in _FILTERS}
    return {name: value for name, value in found.items() if value is not None}


def _page(query: MultiMapping[str]) -> tuple[int, int]:
    return integer(query, "limit", 100, 1, MAX_PAGE), integer(query, "offset", 0, 0, MAX_OFFSET)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _local_sessions() -> list[dict[str, Any]]:
    return [to_json(state) for _, state in local_items(sessions)]
