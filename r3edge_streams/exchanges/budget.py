"""An account's request budget on this worker: requests per second, shared by all its sessions.

In: the account's rate (requests per second) and the moments its exchange asks for quiet (a 429
or 418 with ``Retry-After``). Out: ``acquire()``, awaited before every request to the exchange:
requests leave evenly spaced, at most ``per_second`` in any second, first come first served, and
none while the exchange's pause lasts. Many sessions on one account therefore cannot get the
account banned by firing at once; the wall clock is read here only for pacing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateBudget:
    """A token bucket of one token refilled ``per_second`` times a second, with an exchange's pause."""

    def __init__(
        self,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not per_second > 0:
            raise ValueError(f"a rate budget needs a positive rate, got {per_second!r}")
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0  # the earliest moment the next request may leave
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for this request's turn."""
        async with self._lock:
            while True:
                now = self._clock()
                ready = max(self._next, self._paused_until)
                if now >= ready:
                    self._next = now + 1.0 / self.per_second
                    return
                await self._sleep(ready - now)

    def pause(self, seconds: float) -> None:
        """The exchange asked for ``seconds`` of quiet: no request of the account leaves before then."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        """Seconds of the exchange's pause still to run (0 when none)."""
        return max(0.0, self._paused_until - self._clock())
