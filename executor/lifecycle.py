"""Graceful shutdown over HTTP, as Aurora's HttpLifecycleManager.

POST the graceful endpoint (``/quitquitquit``); if it answered, give the task
``graceful_shutdown_wait_secs`` to stop; then POST the shutdown endpoint
(``/abortabortabort``) and give it ``shutdown_wait_secs``. The runner drives these steps from
its loop (no blocking sleep) and sends SIGTERM afterwards, whatever happened.
"""

from __future__ import annotations

from .health import http_request
from .spec import LifecycleSpec


def post(spec: LifecycleSpec, endpoint: str) -> bool:
    """Whether the endpoint answered (any HTTP status counts as handled, as in Aurora)."""
    try:
        http_request(spec.port, endpoint, method="POST", timeout=1.0)
    except OSError:
        return False
    return True


def steps(spec: LifecycleSpec) -> list[tuple[str, float]]:
    return [
        (spec.graceful_shutdown_endpoint, spec.graceful_shutdown_wait_secs),
        (spec.shutdown_endpoint, spec.shutdown_wait_secs),
    ]
