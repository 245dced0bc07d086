"""Where the pages get their data: the scheduler (through the ``aurora`` connection, as the
hook does) and the agents' observers (``ClusterInfo.observer_url`` with the task's host)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import httpx

from aurora_provider.api import AsyncSchedulerClient, RetryPolicy
from aurora_provider.api.models import ClusterInfo
from aurora_provider.hooks.aurora import AuroraHook, SchedulerSettings

# A page waits for a slow scheduler a little, for a silent observer hardly at all.
SCHEDULER_TIMEOUT = 15.0
OBSERVER_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
RETRY = RetryPolicy(attempts=2, initial=0.1)


class ObserverUnavailable(Exception):
    """The agent's observer could not be asked (none configured, unreachable, or failing)."""


async def scheduler_settings() -> SchedulerSettings:
    # The connection lookup may read Airflow's database: keep it off the event loop.
    return await anyio.to_thread.run_sync(AuroraHook().settings)


async def scheduler_client() -> AsyncIterator[AsyncSchedulerClient]:
    """A FastAPI dependency: one client of the connection's scheduler for the request."""
    settings = await scheduler_settings()
    client = AsyncSchedulerClient(settings.url, token=settings.token, retry=RETRY,
                                  timeout=SCHEDULER_TIMEOUT)
    try:
        yield client
    finally:
        await client.aclose()


def observer_base(cluster: ClusterInfo, host: str | None) -> str:
    """The observer URL of the agent ``host`` runs on, or ObserverUnavailable saying why."""
    template: str | None = getattr(cluster, "observer_url", None)
    if not template:
        raise ObserverUnavailable("the scheduler reports no observer for this cluster")
    if "{host}" in template and not host:
        raise ObserverUnavailable("the task has no host yet, so no observer to ask")
    if host and ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address, as a URL spells it
    base = template.replace("{host}", host or "").rstrip("/")
    try:
        httpx.URL(base)
    except httpx.InvalidURL as e:
        raise ObserverUnavailable(f"the observer URL {base!r} is not a valid URL ({e})") from e
    return base


class ObserverClient:
    """The JSON routes of one agent's observer, each failure one ObserverUnavailable line."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=OBSERVER_TIMEOUT)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        """The JSON answer of ``path``; an HTTP error status is returned as ObserverError."""
        try:
            response = await self.http.get(path, params={k: v for k, v in params.items()
                                                          if v is not None})
        except httpx.HTTPError as e:
            raise ObserverUnavailable(
                f"the observer at {self.base_url} did not answer ({type(e).__name__})") from e
        if response.status_code >= 400:
            raise ObserverError(response.status_code, _error_line(response))
        try:
            return response.json()
        except ValueError as e:
            raise ObserverUnavailable(
                f"the observer at {self.base_url} answered {path} with no JSON") from e


class ObserverError(Exception):
    """The observer answered, with a 4xx/5xx: its status and one-line reason are kept."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error_line(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return f"the observer answered {response.status_code}"
