"""Session views: create a session, list sessions, read one.

``POST /sessions`` validates the body and publishes a create command on ``sessioncommands``
(202: the session agent applies it). ``GET /sessions`` gathers the ``sessions`` table from all
owners; ``GET /sessions/{session_id}`` is routed to the worker that owns the key and adds the
session's feed (signals, prices and ticks it took). Reads the ``sessions`` and ``session_feeds``
tables; writes nothing but commands.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from faust import web

from ..application import SESSION_MODES, app, check_strategy
from ..domain.sessions import create_command_id, session_id_error, spec_errors
from ..models import CommandKind, MalformedMessage, SessionCommand, SessionSpec, parse_model, to_json
from ..tables.session_feeds import session_feeds
from ..tables.sessions import sessions
from ..topics import publish
from .cluster import gather, local_items, routed
from .responses import HttpError, json_body, json_errors

LOCAL_SCOPE = "local"


@app.page("/sessions")
class SessionCollection(web.View):
    """``POST`` creates a session; ``GET`` lists them all (``?scope=local``: this worker's)."""

    @json_errors
    async def post(self, request: web.Request) -> web.Response:
        payload = await json_body(request)
        session_id = _new_session_id(payload.pop("session_id", None))
        spec = _spec(payload)
        command = SessionCommand(
            command_id=create_command_id(session_id),
            session_id=session_id,
            kind=CommandKind.CREATE,
            issued_at=datetime.now(timezone.utc),
            spec=spec,
        )
        await publish("sessioncommands", command)
        body = {"session_id": session_id, "command_id": command.command_id, "status": "accepted",
                "location": f"/sessions/{session_id}"}
        return self.json(body, status=202, headers={"Location": body["location"]})

    @json_errors
    async def get(self, request: web.Request) -> web.Response:
        if request.query.get("scope") == LOCAL_SCOPE:
            return self.json({"items": _local_sessions()})
        items = await gather(sessions, f"/sessions?scope={LOCAL_SCOPE}", _local_sessions)
        items.sort(key=lambda item: (item["created_at"], item["session_id"]))
        return self.json({"items": items, "count": len(items)})


@app.page("/sessions/{session_id}")
class SessionItem(web.View):
    """``GET`` one session, answered by the worker that owns it."""

    @json_errors
    async def get(self, request: web.Request, session_id: str) -> web.Response:
        error = session_id_error(session_id)
        if error:
            raise HttpError(400, error, "session_id")

        async def local() -> web.Response:
            state = sessions.get(session_id)
            if state is None:
                raise HttpError(404, f"no session {session_id}", "session_id")
            feed = session_feeds.get(session_id)  # same key, same partition: local
            return self.json({**to_json(state), "feed": to_json(feed) if feed is not None else None})

        return await routed(self, request, sessions, session_id, local)


@app.page("/sessions/{session_id}/{action}")
class SessionAction(web.View):
    """``POST /sessions/{id}/start`` and ``/stop``: 202 once the command is on Kafka, 404 if unknown.

    Answered by the owner of the session, which checks that it exists; the session agent then
    applies the transition (a refused one is reported on ``notifications``).
    """

    @json_errors
    async def post(self, request: web.Request, session_id: str, action: str) -> web.Response:
        kind = _ACTIONS.get(action)
        if kind is None:
            raise HttpError(404, f"no action {action!r}; use one of {', '.join(_ACTIONS)}", "action")
        error = session_id_error(session_id)
        if error:
            raise HttpError(400, error, "session_id")

        async def local() -> web.Response:
            if sessions.get(session_id) is None:
                raise HttpError(404, f"no session {session_id}", "session_id")
            command = SessionCommand(command_id=f"{action}:{session_id}:{uuid4().hex}", session_id=session_id,
                                     kind=kind, issued_at=datetime.now(timezone.utc))
            await publish("sessioncommands", command)
            return self.json({"session_id": session_id, "command_id": command.command_id, "status": "accepted",
                              "location": f"/sessions/{session_id}"}, status=202)

        return await routed(self, request, sessions, session_id, local)


_ACTIONS = {"start": CommandKind.START, "stop": CommandKind.STOP}


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
    errors = spec_errors(spec, SESSION_MODES, check_strategy)
    if errors:
        first = errors[0]
        raise HttpError(422, first.message, first.field,
                        errors=[{"field": e.field, "error": e.message} for e in errors])
    return spec


def _local_sessions() -> list[dict[str, Any]]:
    return [to_json(state) for _, state in local_items(sessions)]
