"""Thermos's equivalent: runs one task's processes in a sandbox, with checkpoints.

Importing this package stays cheap: the runner's start-up latency and memory are part of
what it promises, so heavy modules (psutil, kazoo, the configuration language) are imported
only by the code paths that need them.
"""

from __future__ import annotations

from .errors import ExecutorError

__all__ = ["ExecutorError"]
