"""The Aurora hook: turns an Airflow connection into scheduler API clients.

A connection of type ``aurora`` holds the scheduler's URL in ``host`` (``http://host:port``,
or a bare host with ``port``), the bearer token in ``password``, and the cluster's name in
the ``cluster`` extra. Without a token the clients read the token file the embedded
scheduler writes (``$AURORA_HOME/token``), and a missing ``aurora_default`` connection
means the local devcluster, so a laptop needs no set-up at all.

Scheduler replicas elect a leader through ZooKeeper. With ``zk`` (a host, hosts
comma-separated or a list; each may carry its ``:port``), ``scheduler_zk_path`` and optionally
``zk_port`` (default 2181) in the extra, as in Aurora's clusters.json, the hook asks ZooKeeper
for the leader whenever it makes a client. The ``host`` is then the fallback: it is used (with
a warning) only when ZooKeeper cannot name a leader, and a replica there redirects the client
to the leader; without a host, ZooKeeper's failure is the error. Without ``zk``, the host is
used, and a replica that is not the leader redirects the client to it.

``docker_registry`` in the extra (an http(s) URL, default Docker Hub) is the registry that
pins the ``{{docker.image[NAME][TAG]}}`` of the jobs the operators submit, as
``docker_registry`` in a clusters.json does for the CLI.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from aurora_provider.api import AsyncSchedulerClient, RetryPolicy, SchedulerClient
from aurora_provider.api.client import DEFAULT_URL
from aurora_provider.api.discovery import LeaderPath, leader_path
from aurora_provider.api.errors import ApiError, SchedulerUnavailable, Unauthorized
from aurora_provider.errors import AuroraError

DEVCLUSTER = "devcluster"


class ConnectionSettingsError(AuroraError):
    """The connection's extra is malformed; ``str(e)`` is one line naming the connection."""


@dataclass(frozen=True)
class SchedulerSettings:
    """Where a scheduler is and how to talk to it, read from a connection.

    :param url: the scheduler; with ``leader``, the leader's once :meth:`AuroraHook.settings`
        asked ZooKeeper, and before that the connection's host ("" when it has none).
    :param leader: where ZooKeeper names the leader, if the connection says.
    :param docker_registry: the Docker registry's URL, if the connection names one.
    """

    url: str
    token: str | None
    cluster: str
    leader: LeaderPath | None = None
    docker_registry: str | None = None


def settings_from_connection(conn: Any | None) -> SchedulerSettings:
    """The scheduler a connection names; ``None`` (no connection) is the local devcluster."""
    if conn is None:
        return SchedulerSettings(DEFAULT_URL, None, DEVCLUSTER)
    extra = conn.extra_dejson if isinstance(conn.extra_dejson, dict) else {}
    leader = _leader_path(extra, getattr(conn, "conn_id", None))
    host = (conn.host or "").strip()
    if not host:
        url = "" if leader else DEFAULT_URL
    elif "://" in host:
        url = host.rstrip("/")
    else:
        scheme = conn.schema or "http"
        url = f"{scheme}://{host}:{conn.port or 8081}"
    return SchedulerSettings(url, conn.password or None, str(extra.get("cluster") or DEVCLUSTER),
                             leader, _docker_registry(extra, getattr(conn, "conn_id", None)))


def _docker_registry(extra: dict[str, Any], conn_id: str | None) -> str | None:
    value = extra.get("docker_registry")
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        where = f"connection {conn_id!r}" if conn_id else "the connection"
        raise ConnectionSettingsError(f"{where}, in its extra: \"docker_registry\" must be an "
                                      "http(s) URL")
    return value.rstrip("/")


def _leader_path(extra: dict[str, Any], conn_id: str | None) -> LeaderPath | None:
    try:
        return leader_path(extra.get("zk"), extra.get("zk_port"), extra.get("scheduler_zk_path"))
    except ValueError as e:
        where = f"connection {conn_id!r}" if conn_id else "the connection"
        raise ConnectionSettingsError(f"{where}, in its extra: {e}") from e


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
        """The connection's scheduler; with a ZooKeeper path, the leader's URL, asked now."""
        try:
            found = settings_from_connection(self.get_connection(self.aurora_conn_id))
        except AirflowNotFoundException as e:
            return self._missing(e)
        return self._with_leader(found)

    async def asettings(self) -> SchedulerSettings:
        """As :meth:`settings`; ZooKeeper is asked in a thread, off the event loop."""
        try:
            found = settings_from_connection(await self.aget_connection(self.aurora_conn_id))
        except AirflowNotFoundException as e:
            return self._missing(e)
        return await asyncio.to_thread(self._with_leader, found)

    def _with_leader(self, found: SchedulerSettings) -> SchedulerSettings:
        if found.leader is None:
            return found
        try:
            url = found.leader.leader_url(timeout=min(self.timeout, 10.0))
        except SchedulerUnavailable as e:
            if not found.url:
                raise
            self.log.warning("%s; using the connection's host %s", e, found.url)
            return found
        return dataclasses.replace(found, url=url)

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

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """The connection form: only the fields this hook reads, named as it reads them.

        The same behaviour as the provider metadata's (which Airflow's UI reads without
        importing the hook); the ``cluster`` and ZooKeeper fields are its ``conn-fields``.
        """
        from aurora_provider.get_provider_info import get_provider_info

        behaviour = next(c["ui-field-behaviour"] for c in get_provider_info()["connection-types"]
                         if c["connection-type"] == cls.conn_type)
        return {k.replace("-", "_"): v for k, v in behaviour.items()}

    def test_connection(self) -> tuple[bool, str]:
        """The UI's "Test" button: reach the scheduler, check the token, name the cluster.

        Each failure is one line saying which of the three went wrong.
        """
        try:
            s = self.settings()
        except (ConnectionSettingsError, SchedulerUnavailable) as e:
            return False, f"connection {self.aurora_conn_id!r}: {e}"
        # A button waits seconds, not the deadline of a task's retries.
        retry = self.retry or RetryPolicy(attempts=2, deadline=5.0)
        with SchedulerClient(s.url, token=s.token, retry=retry,
                             timeout=min(self.timeout, 10.0)) as client:
            try:
                client.health()  # answers without a token: is anything there at all?
            except SchedulerUnavailable as e:  # names the URL and why already
                return False, str(e)
            except ApiError as e:
                return False, f"{s.url} does not answer as an Aurora scheduler: {e}"
            try:
                me = client.whoami()
                info = client.cluster()
            except Unauthorized as e:
                return False, (f"the scheduler at {s.url} refused the API token ({e}): "
                               "put a valid token in the connection's password")
            except ApiError as e:
                return False, f"the scheduler at {s.url} could not check the token: {e}"
        if info.name != s.cluster:
            return False, (f"the scheduler at {s.url} runs cluster {info.name!r}, but the "
                           f"connection's cluster is {s.cluster!r}: job keys would not match")
        roles = "admin" if me.admin else ", ".join(me.roles) or "no roles"
        return True, f"connected to cluster {info.name!r} at {s.url} as {me.user} ({roles})"
