"""A scheduler replica's candidacy for leadership, in ZooKeeper (kazoo).

Each replica holds an ephemeral sequential ``singleton_candidate_`` znode under the
scheduler's path; the oldest candidate leads. The leader, once its scheduler has started,
advertises itself with a ``member_`` znode (``aurora_provider.api.serverset``) where Aurora's
clients look for it. Both are ephemeral, so a leader that dies or whose session expires
leaves both, and the next candidate leads after one session timeout.

As Aurora's scheduler did, only the loss of the session (kazoo's LOST) costs leadership: a
connection blip (SUSPENDED) that heals within the session keeps it. The store's fence covers
the gap where a suspended leader's session has expired without its knowing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from aurora_provider.api.serverset import Endpoint, decode_member, encode_member, members
from aurora_provider.framework.errors import SchedulerError

log = logging.getLogger("aurora_provider.framework.ha")

CANDIDATE_PREFIX = "singleton_candidate_"


class Candidacy:
    """One replica's place in the election and, while it leads, its advertisement.

    :param on_change: called (from kazoo's threads; it must not block) whenever who leads
        may have changed: a candidate came or went, the session was lost or came back.
    :param on_lost: called at once when the session is lost (the leader stops writing).
    """

    def __init__(self, hosts: str, path: str, session_timeout: float, endpoint: Endpoint, *,
                 on_change: Callable[[], None], on_lost: Callable[[], None]) -> None:
        from kazoo.client import KazooClient
        from kazoo.retry import KazooRetry

        self.hosts, self.path, self.endpoint = hosts, path.rstrip("/") or "/", endpoint
        self.session_timeout = session_timeout
        self._client = KazooClient(
            hosts=hosts, timeout=session_timeout,
            connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=1.0),
            logger=logging.getLogger("aurora_provider.framework.ha.kazoo"))
        self._on_change, self._on_lost = on_change, on_lost
        self._lock = threading.Lock()
        self._candidate: str | None = None
        self._member: str | None = None
        self._lost = False
        self._leaving = False

    @property
    def where(self) -> str:
        return f"zk://{self.hosts}{self.path}"

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    @property
    def lost(self) -> bool:
        """Whether the last session was lost and no new one has begun."""
        return self._lost

    def join(self, connect_timeout: float) -> None:
        """Connect and stand as a candidate (one line when ZooKeeper cannot be reached)."""
        from kazoo.handlers.threading import KazooTimeoutError

        try:
            self._client.start(timeout=connect_timeout)
        except KazooTimeoutError as e:
            self._client.close()
            raise SchedulerError(f"--zk {self.hosts}: no ZooKeeper answered within "
                                 f"{connect_timeout:g} s") from e
        self._client.add_listener(self._on_state)
        self._client.ensure_path(self.path)
        self.stand()

    def stand(self) -> None:
        """Be a candidate (again: at the back of the queue) unless one already."""
        with self._lock:
            if self._candidate is not None and self._client.exists(self._candidate):
                return
            self._candidate = self._client.create(
                f"{self.path}/{CANDIDATE_PREFIX}", encode_member(self.endpoint),
                ephemeral=True, sequence=True)
        log.info("standing for leadership at %s as %s", self.where, self._candidate)
        self._watch()

    def _watch(self) -> None:
        self._client.get_children(self.path, watch=lambda _event: self._changed())

    def _changed(self) -> None:
        self._on_change()
        try:
            if self._client.connected:
                self._watch()  # a watch fires once: set the next one
        except Exception:  # the session went meanwhile; its return re-watches
            log.debug("re-watching %s failed", self.path, exc_info=True)

    def elected(self) -> bool:
        """Whether this replica's candidate is the oldest one (asks ZooKeeper)."""
        if self._lost or not self._client.connected or self._candidate is None:
            return False
        candidates = sorted(c for c in self._client.get_children(self.path)
                            if c.startswith(CANDIDATE_PREFIX))
        return bool(candidates) and f"{self.path}/{candidates[0]}" == self._candidate

    def advertise(self) -> None:
        """Tell clients this replica leads (its scheduler has started)."""
        with self._lock:
            if self._member is None:
                self._member = self._client.create(
                    f"{self.path}/member_", encode_member(self.endpoint),
                    ephemeral=True, sequence=True)
        log.info("leading: advertised at %s%s", f"zk://{self.hosts}", self._member)

    def withdraw(self) -> None:
        """Stop advertising and give up the candidacy (a deposed leader, or a stop)."""
        with self._lock:
            for znode in (self._member, self._candidate):
                if znode is not None:
                    try:
                        self._client.delete(znode)
                    except Exception:  # gone with the session already
                        log.debug("could not delete %s", znode, exc_info=True)
            self._member = self._candidate = None

    def leader(self) -> Endpoint | None:
        """Who leads, from the advertisements (None when no replica advertises)."""
        if not self._client.connected:
            return None
        try:
            found = members(self._client.get_children(self.path))
            if not found:
                return None
            data, _stat = self._client.get(f"{self.path}/{found[0]}")
        except Exception:  # ZooKeeper went, or the member did between the two calls
            log.debug("reading the leader at %s failed", self.where, exc_info=True)
            return None
        return decode_member(data)

    def _on_state(self, state: str) -> None:
        from kazoo.protocol.states import KazooState

        if self._leaving:
            return
        if state == KazooState.LOST:
            self._lost = True
            # Ephemeral: gone with the session. No lock here: this runs on kazoo's
            # connection thread, which a lock holder may be waiting on for an answer.
            self._member = self._candidate = None
            log.warning("ZooKeeper session at %s lost", self.where)
            self._on_lost()
        elif state == KazooState.CONNECTED and self._lost:
            self._lost = False  # a new session: the controller stands again
        self._on_change()

    def session_id(self) -> tuple[int, bytes] | None:
        """kazoo's (session id, password), for tests that expire the session."""
        found: tuple[int, bytes] | None = self._client.client_id
        return found

    def leave(self) -> None:
        """Withdraw and close the session."""
        self._leaving = True
        self.withdraw()
        self._client.stop()
        self._client.close()
