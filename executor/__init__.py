"""Thermos's equivalent: runs one task's processes in a sandbox, with checkpoints.

``core`` drives the task (runner, dispatcher, checkpoint stream, planner, supervisor);
``services`` are the status checkers beside it (health, lifecycle, announcer, resources,
logs); ``api`` is what the scheduler and the observer use; ``cli`` is ``thermos``.

Importing this package stays cheap: the runner's start-up latency and memory are part of
what it promises, so heavy modules (psutil, kazoo, the configuration language) are imported
only by the code paths that need them.
"""

from __future__ import annotations

from .errors import ExecutorError

__all__ = ["ExecutorError"]
