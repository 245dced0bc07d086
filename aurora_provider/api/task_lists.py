"""A job's tasks gathered from its pages (``/tasks``), for callers that need them all.

The full status route sends every task with every event in one answer (7 MB for a
10,000-task job); waiters and listings read the pages instead, without events unless asked,
and stop as soon as they have what they need: the active tasks only, or those plus the
newest ``terminal_limit`` terminal ones. Pages come active first, then terminal newest first,
so the first terminal task seen of an instance is its latest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.states.task import TERMINAL


@dataclass
class JobTasks:
    """A job's active tasks (by instance) and its terminal ones (newest first)."""

    key: str
    active: list[m.TaskModel] = field(default_factory=list)
    terminal: list[m.TaskModel] = field(default_factory=list)

    def as_status(self) -> dict[str, Any]:
        """``JobStatus``'s shape as plain data (what ``utils.job_waits`` reads)."""
        return {"key": self.key, "active": [t.model_dump(mode="json") for t in self.active],
                "terminal": [t.model_dump(mode="json") for t in self.terminal]}


class TaskCollector:
    """Pages added one at a time; ``add`` says where the next page starts, or None when done.

    :param terminal_limit: how many terminal tasks to keep (None: all the scheduler holds;
        0: stop at the first terminal task).
    """

    def __init__(self, terminal_limit: int | None = None) -> None:
        if terminal_limit is not None and terminal_limit < 0:
            raise ValueError(f"terminal_limit must be at least 0, not {terminal_limit}")
        self.tasks = JobTasks("")  # the key as the scheduler spells it, from the first page
        self._terminal_limit = terminal_limit

    def page_size(self) -> int:
        """A full page, or fewer when only a few terminal tasks are still wanted."""
        if self._terminal_limit is not None and self.tasks.terminal:
            return max(1, min(m.MAX_TASK_PAGE,
                              self._terminal_limit - len(self.tasks.terminal)))
        return m.MAX_TASK_PAGE

    def add(self, page: m.TaskPage) -> str | None:
        self.tasks.key = page.key
        for task in page.tasks:
            if task.status not in TERMINAL:
                self.tasks.active.append(task)
            elif self._full():
                return None
            else:
                self.tasks.terminal.append(task)
        return None if self.tasks.terminal and self._full() else page.next_cursor

    def _full(self) -> bool:
        return (self._terminal_limit is not None
                and len(self.tasks.terminal) >= self._terminal_limit)
