"""Graceful shutdown over HTTP, as Aurora's HttpLifecycleManager, as a status checker.

When the task is stopped while its processes run, ``stop()`` begins the shutdown and the
runner's polls drive it: POST the graceful endpoint (``/quitquitquit``); if it answered,
give the processes ``graceful_shutdown_wait_secs`` to stop; then POST the shutdown endpoint
(``/abortabortabort``) and give them ``shutdown_wait_secs``. While a wait runs the checker
says STOPPING and is ``due`` at its end; a wait ends early once no process is left. The
runner sends SIGTERM afterwards, whatever happened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..core.spec import LifecycleSpec
from .checker import INFINITY, Status
from .http import http_request

if TYPE_CHECKING:
    from ..core.dispatcher import ProcessRun

STOPPING = Status("stopping")


def post(spec: LifecycleSpec, endpoint: str) -> bool:
    """Whether the endpoint answered (any HTTP status counts as handled, as in Aurora)."""
    try:
        http_request(spec.port, endpoint, method="POST", timeout=1.0)
    except OSError:
        return False
    return True


class HttpLifecycle:
    """The task's graceful shutdown.

    :param spec: the endpoints and their waits.
    :param log: where to say what it does.
    """

    def __init__(self, spec: LifecycleSpec, log: Callable[[str], None]) -> None:
        self._spec = spec
        self._log = log
        self._started = False
        self._steps: list[tuple[str, float]] = []
        self.due = INFINITY

    def start(self, now: float) -> None:
        self._started = True

    def stop(self) -> None:
        if self._started:  # not started: the task was stopped before it served (kill_task)
            self._started = False
            spec = self._spec
            self._steps = [(spec.graceful_shutdown_endpoint, spec.graceful_shutdown_wait_secs),
                           (spec.shutdown_endpoint, spec.shutdown_wait_secs)]  # fmt: skip

    def poll(self, now: float, live: Sequence[ProcessRun]) -> Status | None:
        if self.due != INFINITY:  # waiting for the processes to stop after a POST
            if now < self.due and live:
                return STOPPING
            self.due = INFINITY
        while self._steps and live:
            endpoint, wait = self._steps.pop(0)
            if post(self._spec, endpoint):
                self._log(f"POST {endpoint} handled; waiting up to {wait} s")
                self.due = now + wait
                return STOPPING
        self._steps = []
        return None
