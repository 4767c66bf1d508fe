"""Failpoints: a deliberate crash at a named point of an agent, for fault-injection tests.

In: ``R3EDGE_FAILPOINT`` = ``point.name:n`` (off when unset, as in every real deployment).
Out: on the n-th pass of that point the process ends at once with ``os._exit(137)``: no
shutdown, no offset commit, no producer flush, exactly like a SIGKILL at that instant. Tests use
it to land a crash in the narrow gap they need (say, between sending effects and writing state).
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


class Failpoints:
    """Counts passes of the configured point and crashes on the chosen one."""

    def __init__(self, armed: tuple[str, int] | None) -> None:
        self._armed = armed
        self._passes = 0

    def reach(self, name: str) -> None:
        """Mark a pass of point ``name``; crash if it is the armed pass."""
        if self._armed is None or self._armed[0] != name:
            return
        self._passes += 1
        if self._passes >= self._armed[1]:
            log.critical("failpoint %s reached (pass %d): crashing now", name, self._passes)
            logging.shutdown()
            os._exit(137)
