"""The Aurora hook: turns an Airflow connection into scheduler API clients.

A connection of type ``aurora`` holds the scheduler's URL in ``host`` (``http://host:port``,
or a bare host with ``port``), the bearer token in ``password``, and the cluster's name in
the ``cluster`` extra. Without a token the clients read the token file the embedded
scheduler writes (``$AURORA_HOME/token``), and a missing ``aurora_default`` connection
means the local devcluster, so a laptop needs no set-up at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from aurora_provider.api import AsyncSchedulerClient, RetryPolicy, SchedulerClient
from aurora_provider.api.client import DEFAULT_URL

DEVCLUSTER = "devcluster"


@dataclass(frozen=True)
class SchedulerSettings:
    """Where a scheduler is and how to talk to it, read from a connection."""

    url: str
    token: str | None
    cluster: str


def settings_from_connection(conn: Any | None) -> SchedulerSettings:
    """The scheduler a connection names; ``None`` (no connection) is the local devcluster."""
    if conn is None:
        return SchedulerSettings(DEFAULT_URL, None, DEVCLUSTER)
    host = (conn.host or "").strip()
    if not host:
        url = DEFAULT_URL
    elif "://" in host:
        url = host.rstrip("/")
    else:
        scheme = conn.schema or "http"
        url = f"{scheme}://{host}:{conn.port or 8081}"
    extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
    return SchedulerSettings(url, conn.password or None, str(extra.get("cluster") or DEVCLUSTER))


# (event loop id, url, token) -> [client, users]; entries leave with their last user.
_SHARED: dict[tuple[int, str, str | None], list[Any]] = {}


class AuroraHook(BaseHook):
    """Hands out clients of the Aurora scheduler named by an ``aurora`` connection.

    :param aurora_conn_id: the connection; ``aurora_default`` falls back to the local
        devcluster (http://127.0.0.1:8081) when it is not defined.
    :param retry: the retry policy of the clients (backoff on unreachable schedulers).
    :param timeout: seconds for each HTTP request.
    """

    conn_name_attr = "aurora_conn_id"
    default_conn_name = "aurora_default"
    conn_type = "aurora"
    hook_name = "Aurora"

    def __init__(
        self,
        aurora_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self.aurora_conn_id = aurora_conn_id
        self.retry = retry
        self.timeout = timeout

    def _missing(self, error: AirflowNotFoundException) -> SchedulerSettings:
        if self.aurora_conn_id == self.default_conn_name:
            return settings_from_connection(None)
        raise error

    def settings(self) -> SchedulerSettings:
        try:
            return settings_from_connection(self.get_connection(self.aurora_conn_id))
        except AirflowNotFoundException as e:
            return self._missing(e)

    async def asettings(self) -> SchedulerSettings:
        try:
            return settings_from_connection(await self.aget_connection(self.aurora_conn_id))
        except AirflowNotFoundException as e:
            return self._missing(e)

    def get_conn(self) -> SchedulerClient:
        """A blocking client; close it (or use it as a context manager) when done."""
        s = self.settings()
        return SchedulerClient(s.url, token=s.token, retry=self.retry, timeout=self.timeout)

    async def aget_conn(self) -> AsyncSchedulerClient:
        """A non-blocking client for triggers; ``await client.aclose()`` when done."""
        s = await self.asettings()
        return AsyncSchedulerClient(s.url, token=s.token, retry=self.retry, timeout=self.timeout)

    @asynccontextmanager
    async def shared_client(self) -> AsyncIterator[AsyncSchedulerClient]:
        """An async client shared by every user of the same scheduler in this event loop.

        A triggerer runs hundreds of triggers in one loop; sharing one client (one
        connection pool) per scheduler keeps their polls cheap. Closed with its last user.
        """
        s = await self.asettings()
        key = (id(asyncio.get_running_loop()), s.url, s.token)
        entry = _SHARED.get(key)
        if entry is None:
            client = AsyncSchedulerClient(s.url, token=s.token, retry=self.retry,
                                          timeout=self.timeout)
            entry = _SHARED[key] = [client, 0]
        entry[1] += 1
        try:
            yield entry[0]
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del _SHARED[key]
                await entry[0].aclose()

    def test_connection(self) -> tuple[bool, str]:
        """Used by the UI's "Test" button: who the token belongs to, on which cluster."""
        try:
            with self.get_conn() as client:
                me = client.whoami()
                cluster = client.cluster()
        except Exception as e:  # the UI shows the message; any failure is a failed test
            return False, str(e)
        return True, f"connected to {cluster.name} as {me.user}"
