"""Which processes may run now: order constraints, retries, daemons, ephemerals, pacing.

::

                  daemon: rerun after success
        .------------------------------------------------.
        v                                                |
    runnable --(min_duration passed)--> set_running --> running --success--> finished
        ^                                                |
        |  under max_failures (0 = no limit)             | failure
        `------------------------------------------------+
                                                         | at max_failures
                                                         v
                                                       failed (ephemeral: finished)

Thermos's rules: a process may not depend on a daemon, a non-ephemeral process may not
depend on an ephemeral one, cycles are rejected, and an order constraint must name either
only processes of this plan or none of them (regular and final processes are planned
separately). A LOST run goes back to runnable at once without counting as a failure. No
process gets more than ``TOTAL_RUN_LIMIT`` runs (Thermos's capped planner).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ..errors import InvalidTask
from .spec import ProcessSpec

INFINITY = float("inf")


class Planner:
    TOTAL_RUN_LIMIT = 100

    def __init__(self, processes: Sequence[ProcessSpec], order: Sequence[Sequence[str]]) -> None:
        self._specs = {p.name: p for p in processes}
        self._names = [p.name for p in processes]  # declaration order, for determinism
        self._deps: dict[str, set[str]] = {n: set() for n in self._names}
        for chain in order:
            inside = [n for n in chain if n in self._specs]
            if not inside:
                continue
            if len(inside) != len(chain):
                raise InvalidTask(f"order {list(chain)} mixes processes of different stages")
            for before, after in itertools.pairwise(chain):
                if self._specs[before].daemon:
                    raise InvalidTask(f"process {after} may not depend on daemon process {before}")
                if self._specs[before].ephemeral and not self._specs[after].ephemeral:
                    raise InvalidTask(
                        f"non-ephemeral process {after} may not depend on ephemeral "
                        f"process {before}"
                    )
                self._deps[after].add(before)
        self._check_acyclic()
        self.running: set[str] = set()
        self.finished: set[str] = set()
        self.failed: set[str] = set()
        self._failures = dict.fromkeys(self._names, 0)
        self._runs = dict.fromkeys(self._names, 0)
        self._last_end: dict[str, float] = {}

    def _check_acyclic(self) -> None:
        done: set[str] = set()
        pending = set(self._names)
        while pending:
            ready = {n for n in pending if self._deps[n] <= done}
            if not ready:
                raise InvalidTask(f"process order has a cycle among {sorted(pending)}")
            done |= ready
            pending -= ready

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def failures(self, name: str) -> int:
        return self._failures[name]

    def _candidates(self) -> list[str]:
        busy = self.running | self.finished | self.failed
        return [n for n in self._names if n not in busy and self._deps[n] <= self.finished]

    def wait_for(self, name: str, now: float) -> float:
        """Seconds until ``name`` may start again (0 if it may start now)."""
        if name not in self._last_end:
            return 0.0
        return max(0.0, self._specs[name].min_duration - (now - self._last_end[name]))

    def runnable_at(self, now: float) -> list[str]:
        return [n for n in self._candidates() if self.wait_for(n, now) <= 0]

    def waiting_at(self, now: float) -> list[str]:
        return [n for n in self._candidates() if self.wait_for(n, now) > 0]

    def next_wait(self, now: float) -> float:
        """Seconds until a process now held back by ``min_duration`` may start (or inf)."""
        waits = [w for n in self._candidates() if (w := self.wait_for(n, now)) > 0]
        return min(waits) if waits else INFINITY

    def set_running(self, name: str) -> None:
        self.running.add(name)

    def _end(self, name: str, now: float) -> bool:
        """Record the end of a run; True when the run limit is reached."""
        self.running.discard(name)
        self._last_end[name] = now
        self._runs[name] += 1
        if self._runs[name] >= self.TOTAL_RUN_LIMIT:
            self.failed.add(name)
            return True
        return False

    def add_success(self, name: str, now: float) -> None:
        if self._end(name, now):
            return
        if not self._specs[name].daemon:
            self.finished.add(name)

    def add_failure(self, name: str, now: float) -> None:
        self._failures[name] += 1
        if self._end(name, now):
            return
        limit = self._specs[name].max_failures
        if limit == 0 or self._failures[name] < limit:
            return
        if self._specs[name].ephemeral:
            self.finished.add(name)
        else:
            self.failed.add(name)

    def lost(self, name: str) -> None:
        self.running.discard(name)

    def is_complete(self) -> bool:
        """Every non-ephemeral process finished or failed."""
        done = self.finished | self.failed | {n for n in self._names if self._specs[n].ephemeral}
        return done >= set(self._names)

    def deadlocked(self, now: float) -> bool:
        """Nothing runs, nothing can ever run, and yet the plan is not complete."""
        return not self.running and not self._candidates() and not self.is_complete()
