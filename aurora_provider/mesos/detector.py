"""Finding the leading Mesos master: a fixed address, or ZooKeeper as Mesos's masters use it.

Masters contend in a ZooKeeper path: each holds an ephemeral sequential ``json.info_NNNN``
znode whose data is its ``MasterInfo`` as JSON; the lowest sequence is the leader. Other
children (a replicated log's, the legacy protobuf ``info_``) are not masters' entries.

``detector_for`` reads the forms Mesos's ``--master`` flag takes: ``host:port``,
``zk://[user:password@]host:port[,host:port...]/path`` and ``file:///path`` (a file holding
one of the other two, so ZooKeeper credentials stay off command lines).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import MasterAddressError

if TYPE_CHECKING:
    from kazoo.client import KazooClient

log = logging.getLogger(__name__)

MASTER_ENTRY = re.compile(r"^json\.info_(\d+)$")
DEFAULT_MASTER_PORT = 5050
DEFAULT_ZOOKEEPER_PORT = 2181


class MasterDetector(Protocol):
    def current(self) -> str | None:
        """``host:port`` of the leading master, None while it is not known."""

    def wait_for_change(self, previous: str | None, timeout: float) -> str | None:
        """The leader once it differs from ``previous``, or after ``timeout`` seconds."""

    def stop(self) -> None: ...


class StaticDetector:
    """One master given by address; it is always the one to talk to (it redirects
    to the leader itself when it is not)."""

    def __init__(self, address: str) -> None:
        self.address = parse_address(address, DEFAULT_MASTER_PORT, what="Mesos master")
        self._stopped = threading.Event()

    def current(self) -> str | None:
        return self.address

    def wait_for_change(self, previous: str | None, timeout: float) -> str | None:
        if previous != self.address:
            return self.address
        self._stopped.wait(timeout)  # nothing ever changes
        return self.address

    def stop(self) -> None:
        self._stopped.set()

    def __str__(self) -> str:
        return self.address


class ZooKeeperDetector:
    """The leader among the ``json.info_`` znodes of a ZooKeeper path, followed by watches.

    A suspended connection keeps the last leader for ``session_timeout`` seconds (the
    session may still live); a lost session makes the leader unknown until the detector
    has read the path again on a new one.

    :param url: ``zk://[user:password@]host:port[,host:port...]/path``.
    :param session_timeout: ZooKeeper session timeout, in seconds.
    :param client: a kazoo client to use instead of one made from ``url`` (its hosts are
        then the client's); the detector starts it when needed and stops only its own.
    """

    def __init__(self, url: str, *, session_timeout: float = 10.0,
                 client: KazooClient | None = None) -> None:
        hosts, self.path, auth = parse_zk_url(url)
        self._url = url
        self._session_timeout = session_timeout
        self._cond = threading.Condition()
        self._refresh_lock = threading.Lock()
        self._leader: str | None = None
        self._stopped = False
        self._expiry: threading.Timer | None = None
        self._warned: str | None = None
        if client is None:
            from kazoo.client import KazooClient

            client = KazooClient(hosts=hosts, timeout=session_timeout,
                                 auth_data=[("digest", auth)] if auth else None)
            self._owns_client = True
        else:
            self._owns_client = False
        self._client = client
        client.add_listener(self._on_state)
        if client.connected:
            client.handler.spawn(self._refresh)
        else:
            client.start_async()  # the first CONNECTED reads the path

    def current(self) -> str | None:
        with self._cond:
            return self._leader

    def wait_for_change(self, previous: str | None, timeout: float) -> str | None:
        with self._cond:
            self._cond.wait_for(lambda: self._leader != previous or self._stopped, timeout)
            return self._leader

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._set_locked(None)
            self._cancel_expiry()
        self._client.remove_listener(self._on_state)
        if self._owns_client:
            self._client.stop()
            self._client.close()

    def __str__(self) -> str:
        return without_credentials(self._url)

    # -- ZooKeeper's side (kazoo's threads: never block them) ----------------------------------

    def _on_state(self, state: str) -> None:
        from kazoo.protocol.states import KazooState

        with self._cond:
            if state == KazooState.CONNECTED:
                self._cancel_expiry()
            elif state == KazooState.SUSPENDED and self._expiry is None and not self._stopped:
                self._expiry = threading.Timer(self._session_timeout, self._session_gone)
                self._expiry.daemon = True
                self._expiry.start()
            elif state == KazooState.LOST:
                self._cancel_expiry()
                self._set_locked(None)
        if state == KazooState.CONNECTED and not self._stopped:
            self._client.handler.spawn(self._refresh)

    def _session_gone(self) -> None:
        with self._cond:
            self._expiry = None
            log.warning("ZooKeeper %s unreachable for %.0f s: leading Mesos master unknown",
                        self, self._session_timeout)
            self._set_locked(None)

    def _cancel_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None

    def _on_watch(self, event: Any) -> None:
        if not self._stopped:
            self._client.handler.spawn(self._refresh)

    def _refresh(self) -> None:
        """Read the leader and leave a watch that calls this again on the next change."""
        with self._refresh_lock:  # one at a time: a later read is never overwritten
            if self._stopped:
                return
            try:
                leader = self._read_leader()
            except Exception as e:  # whatever kazoo raises: the next CONNECTED reads again
                log.debug("reading %s failed: %s", self, e)
                return
            with self._cond:
                if not self._stopped:
                    self._set_locked(leader)

    def _read_leader(self) -> str | None:
        from kazoo.exceptions import NoNodeError

        try:
            children = self._client.get_children(self.path, watch=self._on_watch)
        except NoNodeError:
            # No master registered yet: watch for the path to appear.
            if self._client.exists(self.path, watch=self._on_watch) is None:
                return None
            children = self._client.get_children(self.path, watch=self._on_watch)
        entries = sorted((int(m.group(1)), name) for name in children
                         if (m := MASTER_ENTRY.match(name)))
        for _, name in entries:
            try:
                data, _ = self._client.get(f"{self.path.rstrip('/')}/{name}")
            except NoNodeError:
                continue  # gone between the listing and the read: the next one leads
            return self._address_of(name, data)
        return None

    def _address_of(self, name: str, data: bytes) -> str | None:
        try:
            return master_address(json.loads(data))
        except (ValueError, TypeError, AttributeError) as e:
            problem = f"{self.path}/{name} is not a MasterInfo ({e})"
            if problem != self._warned:
                log.warning("leading Mesos master unknown: %s", problem)
                self._warned = problem
            return None

    def _set_locked(self, leader: str | None) -> None:
        if leader != self._leader:
            log.info("leading Mesos master: %s", leader or "unknown")
            self._leader = leader
        self._cond.notify_all()


def master_address(info: dict[str, Any]) -> str:
    """``host:port`` of a ``MasterInfo``: ``address.ip``/``address.port``, else the older
    ``hostname``/``port`` fields."""
    address = info.get("address") or {}
    host = address.get("ip") or address.get("hostname") or info.get("hostname")
    port = address.get("port") or info.get("port") or DEFAULT_MASTER_PORT
    if not isinstance(host, str) or not host or not isinstance(port, int):
        raise ValueError("no address.ip, address.hostname or hostname")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def detector_for(master: str) -> MasterDetector:
    """The detector for a ``--master`` value (see the module's docstring)."""
    value = check_master(master)
    if value.startswith("zk://"):
        return ZooKeeperDetector(value)
    return StaticDetector(value)


def check_master(master: str) -> str:
    """``master`` checked, with a ``file://`` read: ``host:port`` or a ``zk://`` URL."""
    value = master.strip()
    if value.startswith("file://"):
        path = Path(value[len("file://"):])
        try:
            value = path.read_text().strip()
        except OSError as e:
            raise MasterAddressError(
                f"cannot read the Mesos master from {path}: {e.strerror or e}") from e
        if value.startswith("file://"):
            raise MasterAddressError(f"{path} names another file; write host:port or zk://")
    if value.startswith("zk://"):
        parse_zk_url(value)
        return value
    return parse_address(value, DEFAULT_MASTER_PORT, what="Mesos master")


def parse_zk_url(url: str) -> tuple[str, str, str | None]:
    """(hosts, path, "user:password" or None) of ``zk://[user:password@]hosts/path``."""
    form = "zk://[user:password@]host:port[,host:port...]/path"
    if not url.startswith("zk://"):
        raise MasterAddressError(f"bad ZooKeeper URL {url!r}: expected {form}")
    rest = url[len("zk://"):]
    auth: str | None = None
    if "@" in rest:
        auth, rest = rest.rsplit("@", 1)
        if ":" not in auth:
            raise MasterAddressError(f"bad ZooKeeper URL: credentials must be user:password "
                                     f"(expected {form})")
    hosts, slash, path = rest.partition("/")
    path = "/" + path.rstrip("/")
    if not slash or path == "/":
        raise MasterAddressError(
            f"bad ZooKeeper URL {without_credentials(url)!r}: no path (expected {form})")
    checked = [parse_address(h, DEFAULT_ZOOKEEPER_PORT, what="ZooKeeper host")
               for h in hosts.split(",")]
    return ",".join(checked), path, auth


def parse_address(text: str, default_port: int, *, what: str) -> str:
    """``host:port`` checked (a missing port is ``default_port``; IPv6 in brackets)."""
    form = MASTER_FORMS if what == "Mesos master" else "host:port"
    match = _HOST_PORT.fullmatch(text.strip())
    if match is None:
        raise MasterAddressError(f"bad {what} {text!r}: expected {form}")
    host, port = match.group(1), match.group(2)
    if port is None:
        return f"{host}:{default_port}"
    if not 0 < int(port) < 65536:
        raise MasterAddressError(f"bad {what} {text!r}: the port must be 1-65535")
    return f"{host}:{int(port)}"


_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^\s:/@\[\]]+)(?::(\d+))?")
MASTER_FORMS = "host:port, zk://host:port[,host:port...]/path or file:///path"


def without_credentials(url: str) -> str:
    """A ZooKeeper URL without its credentials, for messages."""
    return re.sub(r"^zk://[^@/]*@", "zk://", url)
