"""Log rotation of the files processes write directly, as a status checker.

A process whose ``Logger`` rotates to files writes them itself (the runner does not copy
them), so once a second the checker rotates each live run's ``stdout``/``stderr`` that has
outgrown ``log_size`` (``core.logs.rotate_if_needed``). It reports nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.logs import STREAMS, rotate_if_needed, run_log_dir
from ..core.spec import TaskSpec
from .checker import Status

if TYPE_CHECKING:
    from ..core.dispatcher import ProcessRun

ROTATE_INTERVAL = 1.0


class LogRotator:
    """:param spec: the task (each process's logger). :param log_dir: the runs' log root."""

    def __init__(self, spec: TaskSpec, log_dir: Path) -> None:
        self._spec = spec
        self._log_dir = log_dir
        self.due = 0.0

    def start(self, now: float) -> None:
        self.due = now + ROTATE_INTERVAL

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        if now >= self.due:
            self.due = now + ROTATE_INTERVAL
            for run in live:
                logger = self._spec.process(run.process).logger
                if logger.destination == "file":
                    for stream in STREAMS:
                        path = run_log_dir(self._log_dir, run.process, run.run) / stream
                        rotate_if_needed(path, logger)
        return None

    def stop(self) -> None:
        pass
