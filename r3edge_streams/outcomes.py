"""Waiting for a command's outcome: the view that published a command learns what the agent decided.

In: the command id (from the view) and the decision (from the agent, on the same worker: the
view runs on the owner of the key, the agent consumes the owner's partition). Out: a future the
view awaits for a bounded time; when it is not settled in time (the partition moved, the
worker is slow) the view answers 202 and the client reads the result later.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Outcomes(Generic[T]):
    """Pending command ids and the futures of the views waiting for them."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[T]] = {}

    def expect(self, command_id: str) -> asyncio.Future[T]:
        """A future settled when the agent decides ``command_id`` (call before publishing it)."""
        future = self._waiting.get(command_id)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._waiting[command_id] = future
        return future

    def settle(self, command_id: str, outcome: T) -> None:
        """The agent decided ``command_id``: wake its view, if one waits here."""
        future = self._waiting.pop(command_id, None)
        if future is not None and not future.done():
            future.set_result(outcome)

    def drop(self, command_id: str) -> None:
        """No view waits for ``command_id`` any more (its command was not confirmed by Kafka)."""
        self._waiting.pop(command_id, None)

    async def wait(self, command_id: str, future: asyncio.Future[T], timeout: float) -> T | None:
        """The outcome, or None after ``timeout`` seconds."""
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            self._waiting.pop(command_id, None)
            return None
