"""The task's resource limits as status checkers: its failure when it goes over them.

As Thermos's resource manager did for disk, the checkers say ``failed`` with the reason and
the runner tears the task down, ending it FAILED with that reason (what the scheduler shows):

* ``disk_verdict`` is what the resource sampler (``resources.ResourceSampler``) says of each
  measurement of the sandbox against the task's disk resource;
* ``MemoryLimit`` watches the task's cgroup for kills by the OOM killer, which the kernel
  does once the group is over its ``memory.max``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .checker import INFINITY, Status

if TYPE_CHECKING:
    from ..core.cgroups import TaskCgroup
    from ..core.dispatcher import ProcessRun

MB = 1024 * 1024  # the configuration language's MB


def megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB"


def disk_verdict(used: int, limit: int) -> Status | None:
    """The failure a sandbox using ``used`` bytes is, under a ``limit`` (0: none)."""
    if limit <= 0 or used <= limit:
        return None
    return Status("failed", f"sandbox uses {megabytes(used)}, over its disk limit of "
                            f"{megabytes(limit)}")  # fmt: skip


class MemoryLimit:
    """Fails the task once the OOM killer killed one of its processes.

    :param group: the task's cgroup.
    :param ram: its ``memory.max``, in bytes (for the message).
    :param interval: seconds between looks at ``memory.events``.
    """

    def __init__(self, group: TaskCgroup, ram: int, *, interval: float = 1.0) -> None:
        self._group = group
        self._ram = ram
        self._interval = interval
        self._kills_before = 0
        self._verdict: Status | None = None
        self.due = INFINITY

    def start(self, now: float) -> None:
        self._kills_before = self._group.oom_kills()  # a resumed task's earlier kills
        self.due = now

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        # Read at every poll (a small file): the runner polls its checkers right after a
        # run ends, so a run the OOM killer ended is told as such, not as a process failure.
        if self._verdict is None:
            if self._group.oom_kills() > self._kills_before:
                self._verdict = Status("failed", "killed for memory: over its RAM limit of "
                                                 f"{self._ram / MB:g} MB")  # fmt: skip
            self.due = INFINITY if self._verdict else now + self._interval
        return self._verdict

    def stop(self) -> None:
        pass
