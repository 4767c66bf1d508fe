"""A session command Kafka does not confirm in time is a 503 that says so, not a view that hangs
(a broker without a leader for the partition would otherwise hold the client for minutes)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone

import pytest

from r3edge_streams.models import CommandKind, SessionCommand
from r3edge_streams.services import session_outcomes
from r3edge_streams.web import sessions as views
from r3edge_streams.web.errors import HttpError


async def test_an_unconfirmed_command_answers_503_within_the_command_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    published: list[SessionCommand] = []

    async def never_confirmed(topic: object, command: SessionCommand) -> None:
        published.append(command)
        await asyncio.Event().wait()  # Kafka never acks

    monkeypatch.setattr(views, "publish", never_confirmed)
    monkeypatch.setattr(views, "settings", dataclasses.replace(views.settings, command_wait=0.2))
    command = SessionCommand(
        command_id="stop:s1:x", session_id="s1", kind=CommandKind.STOP, issued_at=datetime.now(timezone.utc)
    )
    session_outcomes.expect(command.command_id)
    started = asyncio.get_running_loop().time()
    with pytest.raises(HttpError) as raised:
        await views._confirmed(command)
    assert raised.value.status == 503
    assert "GET /sessions/s1" in str(raised.value)
    assert asyncio.get_running_loop().time() - started < 5
    assert published == [command]
    assert command.command_id not in session_outcomes._waiting  # nobody waits for it any more
