"""The rules a task's processes and order constraints must follow (Thermos's planner).

A task runs its regular processes first, then (in the FINALIZING stage) its ``final``
ones, each group in its own plan; so an order constraint may name processes of one group
only. Within a plan: no process may wait for a daemon (a daemon never finishes), a
non-ephemeral process may not wait for an ephemeral one (it would block completion), and
the "runs after" graph must have no cycle. Process names become file names in the
sandbox (logs, checkpoints), so they must be unique and usable as file names.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from .errors import ConfigError

__all__ = ["PROCESS_NAME_RE", "PlanError", "check_plan"]

# Not empty, no '/', not starting with '.' (so never '.', '..' or a hidden file).
PROCESS_NAME_RE = re.compile(r"^[^./\x00][^/\x00]*$")


class PlanError(ConfigError):
    """A broken plan rule; ``path`` is the field path inside the task's job."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def check_plan(task: Any) -> None:
    """Raise ``PlanError`` for the first broken rule of ``task``'s processes and order."""
    processes: dict[str, Any] = {}
    for index, process in enumerate(task.processes()):
        name = str(process.name().get())
        path = f"task.processes[{index}].name"
        if not PROCESS_NAME_RE.match(name):
            raise PlanError(path, f"{name!r} is not a valid process name; it becomes a file "
                            "name, so it must be non-empty, without '/', and not start with '.'")
        if name in processes:
            raise PlanError(path, f"{name!r} is used by two processes; give each a unique name")
        processes[name] = process

    after: dict[str, set[str]] = {name: set() for name in processes}
    for index, constraint in enumerate(task.constraints()):
        path = f"task.constraints[{index}].order"
        names = [str(n) for n in constraint.order().get()] if constraint.has_order() else []
        for name in names:
            if name not in processes:
                raise PlanError(path, f"names no process {name!r}; known processes: "
                                f"{', '.join(sorted(processes))}")
        finals = {bool(processes[name].final().get()) for name in names}
        if len(finals) > 1:
            raise PlanError(path, f"mixes final and regular processes ({', '.join(names)}); "
                            "final processes run after all regular ones, so order them apart")
        for before, then in itertools.pairwise(names):
            _check_edge(path, processes[before], processes[then])
            after[then].add(before)

    cycle = _find_cycle(after)
    if cycle:
        raise PlanError("task.constraints", f"the order has a cycle: {' -> '.join(cycle)}; "
                        "remove one of these constraints")


def _check_edge(path: str, before: Any, then: Any) -> None:
    before_name, then_name = str(before.name().get()), str(then.name().get())
    if before.daemon().get():
        raise PlanError(path, f"{then_name!r} may not run after daemon process "
                        f"{before_name!r}, which never finishes; drop daemon=True or the order")
    if before.ephemeral().get() and not then.ephemeral().get():
        raise PlanError(path, f"non-ephemeral process {then_name!r} may not run after "
                        f"ephemeral process {before_name!r}; make both ephemeral or drop "
                        "the order")


def _find_cycle(after: dict[str, set[str]]) -> list[str]:
    """A cycle in the "runs after" graph as a list of names (first == last), or []."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str]:
        if name in visiting:
            loop = [*visiting[visiting.index(name):], name]
            return list(reversed(loop))  # read in running order: a -> b -> a
        if name in done:
            return []
        visiting.append(name)
        for prior in sorted(after[name]):
            found = visit(prior)
            if found:
                return found
        visiting.pop()
        done.add(name)
        return []

    for name in sorted(after):
        found = visit(name)
        if found:
            return found
    return []
