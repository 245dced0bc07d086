"""Finding the leading scheduler from ZooKeeper, as Aurora's client did.

Scheduler replicas elect a leader, which advertises itself as a serverset member under the
scheduler's ZooKeeper path (``aurora_provider.api.serverset``). :func:`leader_url` reads that
path once (connect, list, read the lowest ``member_``, close) and answers the leader's URL;
each failure is one ``SchedulerUnavailable`` line naming the ensemble and the path.
:func:`leader_path` reads clusters.json's ``zk`` / ``zk_port`` / ``scheduler_zk_path`` (and a
connection's extra of the same names) into a :class:`LeaderPath`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NoNodeError
from kazoo.handlers.threading import KazooTimeoutError

from aurora_provider.api.errors import SchedulerUnavailable
from aurora_provider.api.serverset import decode_member, members

DEFAULT_ZK_PORT = 2181

# kazoo logs every failed connection attempt; the one error line of leader_url says it all.
# A logger outside logging's tree: no logging configuration (Airflow's) can turn it back on.
_QUIET = logging.Logger(f"{__name__}.kazoo", logging.CRITICAL)
_QUIET.addHandler(logging.NullHandler())


def ensemble(zk: str | Sequence[str], port: int = DEFAULT_ZK_PORT) -> str:
    """kazoo's ``host:port,host:port`` for a host or hosts (a list, or comma-separated);
    a host without its own ``:port`` gets ``port``."""
    hosts = zk.split(",") if isinstance(zk, str) else list(zk)
    named = [h.strip() for h in hosts if h.strip()]
    return ",".join(h if _has_port(h) else f"{h}:{port}" for h in named)


def _has_port(host: str) -> bool:
    if host.startswith("["):  # [v6]:port
        return "]:" in host
    return host.count(":") == 1


@dataclass(frozen=True)
class LeaderPath:
    """Where the leading scheduler advertises itself, as clusters.json names it.

    :param zk: the ZooKeeper hosts as given (comma-separated; each may carry its ``:port``).
    :param zk_port: the port of the hosts that name none.
    :param path: the scheduler's path, its ``--zk-path`` (clusters.json's
        ``scheduler_zk_path``).
    """

    zk: str
    zk_port: int
    path: str

    @property
    def hosts(self) -> str:
        return ensemble(self.zk, self.zk_port)

    def leader_url(self, *, timeout: float = 10.0) -> str:
        """The leader's URL, read from ZooKeeper now (see :func:`leader_url`)."""
        return leader_url(self.hosts, self.path, timeout=timeout)


def leader_path(zk: object, zk_port: object, path: object) -> LeaderPath | None:
    """clusters.json's ``zk``, ``zk_port`` and ``scheduler_zk_path`` (also a connection's
    extra) checked: both of ``zk`` and the path, or neither (None); ``zk_port`` (default
    2181) an integer, or its digits. ``ValueError`` says what is wrong, for the caller to
    say where."""
    if zk in (None, "", []) and path in (None, ""):
        return None
    if isinstance(zk, list) and zk and all(isinstance(h, str) for h in zk):
        zk = ",".join(zk)
    if zk is not None and (not isinstance(zk, str) or not zk.strip(" ,")):
        raise ValueError("\"zk\" must be a ZooKeeper host, hosts comma-separated, or a list "
                         "of hosts")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise ValueError("\"scheduler_zk_path\" must be a ZooKeeper path such as "
                         "\"/aurora/scheduler\"")
    if not path:
        raise ValueError("\"zk\" without \"scheduler_zk_path\": name the path where the "
                         "scheduler advertises itself (its --zk-path)")
    if not zk:
        raise ValueError("\"scheduler_zk_path\" without \"zk\": name the ZooKeeper hosts")
    return LeaderPath(zk, _port(zk_port), path)


def _port(value: object) -> int:
    if value in (None, ""):
        return DEFAULT_ZK_PORT
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        raise ValueError(f"\"zk_port\" must be a port number (1-65535), not {value!r}")
    return value


def leader_url(zk_hosts: str, zk_path: str, *, timeout: float = 10.0) -> str:
    """The URL of the scheduler that leads at ``zk_path`` of the ensemble ``zk_hosts``.

    :param zk_hosts: kazoo's hosts string, ``host:port[,host:port...]``.
    :param zk_path: the scheduler's path (its ``--zk-path``), e.g. ``/aurora/scheduler``.
    :param timeout: seconds to connect, and the session's timeout.
    :raises SchedulerUnavailable: ZooKeeper unreachable, the path missing, no leader
        elected, or a leader whose znode is not a serverset member.
    """
    zk_path = "/" + zk_path.strip("/")  # ZooKeeper refuses a path that ends with "/"
    where = f"zk://{zk_hosts}{zk_path}"
    try:
        client = KazooClient(hosts=zk_hosts, timeout=timeout, logger=_QUIET)
    except ValueError as e:  # kazoo's complaint about a malformed hosts string
        raise _unavailable(f"bad ZooKeeper hosts {zk_hosts!r}: {e}") from e
    try:
        client.start(timeout=timeout)
    except KazooTimeoutError as e:
        client.stop()
        client.close()
        raise _unavailable(f"cannot reach ZooKeeper at {zk_hosts} within {timeout:g} s") from e
    try:
        return _read_leader(client, zk_path, where)
    except KazooException as e:  # the connection dropped while reading
        raise _unavailable(f"ZooKeeper at {zk_hosts} failed while reading {zk_path}: "
                           f"{type(e).__name__}") from e
    finally:
        client.stop()
        client.close()


def _read_leader(client: KazooClient, zk_path: str, where: str) -> str:
    try:
        children = client.get_children(zk_path)
    except NoNodeError as e:
        raise _unavailable(f"no ZooKeeper path {where}: is it the scheduler's --zk-path "
                           "(scheduler_zk_path)?") from e
    for member in members(children):
        try:
            data, _ = client.get(f"{zk_path}/{member}")
        except NoNodeError:  # that leader's session ended since the listing: the next one
            continue
        endpoint = decode_member(data)
        if endpoint is None:
            shown = data[:60].decode(errors="replace")
            raise _unavailable(f"{where}/{member} is not a serverset member (its data: "
                               f"{shown!r})")
        return endpoint.url
    raise _unavailable(f"no leader elected at {where} (no member_ znode)")


def _unavailable(message: str) -> SchedulerUnavailable:
    # status 0: no scheduler answered, so the line carries no HTTP status.
    return SchedulerUnavailable(message, status=0)
