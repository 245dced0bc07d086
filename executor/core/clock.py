"""Time as the runner sees it, injectable so tests can skip waits."""

from __future__ import annotations

import select
import time
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch."""
        ...

    def wait(self, fds: list[int], timeout: float) -> list[int]:
        """Wait until one of ``fds`` is readable or ``timeout`` passes; the readable ones."""
        ...


class RealClock:
    def time(self) -> float:
        return time.time()

    def wait(self, fds: list[int], timeout: float) -> list[int]:
        readable, _, _ = select.select(fds, [], [], max(0.0, timeout))
        return readable


class SkippingClock:
    """Real events, virtual waits: a wait that sees no event skips the rest of its timeout.

    Processes really run, but ``min_duration``, ``finalization_wait`` and similar pauses
    cost the test only ``real_slice`` seconds each.
    """

    def __init__(self, real_slice: float = 0.05) -> None:
        self._offset = 0.0
        self._slice = real_slice

    def time(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def wait(self, fds: list[int], timeout: float) -> list[int]:
        step = min(max(0.0, timeout), self._slice)
        readable, _, _ = select.select(fds, [], [], step)
        if not readable and timeout > step:
            self._offset += timeout - step
        return readable
