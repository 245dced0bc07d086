"""The task list: which tasks (all, active, finished), in which order, which page of them.

Newest launch first by default; ``job`` orders by job key and instance, ``state`` by the
task's state; each then by launch time, newest first. Paging takes ``num`` tasks from
``offset`` of the ordered selection (``num`` None: all of them); only that page is rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import BadRequest
from .index import IndexedTask

TYPES = ("all", "active", "finished")


def _launch(t: IndexedTask) -> tuple[Any, ...]:
    return (-(t.view.launch_time or 0.0), t.task_id)


def _job(t: IndexedTask) -> tuple[Any, ...]:
    v = t.view
    return (v.job_key or "", v.instance if v.instance is not None else -1, *_launch(t))


def _state(t: IndexedTask) -> tuple[Any, ...]:
    return (not t.active, str(t.view.state), *_launch(t))


SORTS: dict[str, Callable[[IndexedTask], tuple[Any, ...]]] = {
    "launch": _launch, "job": _job, "state": _state,
}  # fmt: skip


@dataclass(frozen=True)
class Page:
    tasks: list[IndexedTask]
    type: str
    sort: str
    offset: int
    num: int | None
    total: int  # tasks of this type
    active: int  # counts of every task, whatever the type
    finished: int

    def ids(self) -> dict[str, list[str]]:
        """The page as ``/j/task_ids`` answers it."""
        return {"active": [t.task_id for t in self.tasks if t.active],
                "finished": [t.task_id for t in self.tasks if not t.active]}  # fmt: skip


def select(tasks: Sequence[IndexedTask], *, type: str = "all", sort: str = "launch",
           offset: int = 0, num: int | None = None) -> Page:  # fmt: skip
    """One page of ``tasks``; a 400 naming the bad parameter otherwise."""
    if type not in TYPES:
        raise BadRequest(f"type={type!r}: expected one of {', '.join(TYPES)}")
    if sort not in SORTS:
        raise BadRequest(f"sort={sort!r}: expected one of {', '.join(SORTS)}")
    if offset < 0:
        raise BadRequest(f"offset={offset}: must be 0 or more")
    if num is not None and num < 0:
        raise BadRequest(f"num={num}: must be 0 or more")
    active = sum(1 for t in tasks if t.active)
    chosen = [t for t in tasks if type == "all" or t.active == (type == "active")]
    chosen.sort(key=SORTS[sort])
    end = None if num is None else offset + num
    return Page(chosen[offset:end], type, sort, offset, num, len(chosen), active,
                len(tasks) - active)  # fmt: skip
