"""Running the scheduler while this replica leads, and only then.

One thread decides, so starts and stops never overlap: woken by the election (a candidate
came or went, the session was lost or came back), by the store's fence (another replica took
the store), and once a second regardless. Elected, it starts the scheduler (which takes the
store's next epoch, loads state and reconciles) and then advertises it; no longer elected,
it stops it. A lost session refuses the scheduler's writes at once, before the thread gets
to stopping it.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from aurora_provider.api.serverset import Endpoint
from aurora_provider.framework.ha.election import Candidacy

log = logging.getLogger("aurora_provider.framework.ha")

# How often the thread looks again unprompted, and waits after a failed start.
CHECK_SECS = 1.0


class Replica(Protocol):
    """What leadership starts and stops (the daemon)."""

    @property
    def running(self) -> bool: ...

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def revoke(self, why: str) -> None: ...


class Leadership:
    """The scheduler run on this replica while its candidacy leads."""

    def __init__(self, replica: Replica, hosts: str, path: str, session_timeout: float,
                 endpoint: Endpoint) -> None:
        """Stand for ``replica`` under ``path`` of the ensemble ``hosts``, advertising
        ``endpoint`` while it leads."""
        self._replica = replica
        self._wake = threading.Event()
        self.candidacy = Candidacy(hosts, path, session_timeout, endpoint,
                                   on_change=self.wake, on_lost=self.session_lost)
        self._stopping = False
        self._deposed: str | None = None
        self._leader: Endpoint | None = None
        self._thread = threading.Thread(target=self._run, name="leadership", daemon=True)

    def start(self, connect_timeout: float) -> None:
        """Join the election (one line when ZooKeeper is not there) and start deciding."""
        self.candidacy.join(connect_timeout)
        self._thread.start()
        self.wake()

    def stop(self) -> None:
        """Stop the scheduler if it runs here and leave the election."""
        self._stopping = True
        self.wake()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        self._replica.stop()
        self.candidacy.leave()

    def wake(self) -> None:
        self._wake.set()

    def leader(self) -> Endpoint | None:
        """Who leads, as last seen (None: no replica advertises)."""
        return self._leader

    @property
    def leading(self) -> bool:
        return self._replica.running

    def session_lost(self) -> None:
        """From kazoo's thread: refuse writes now; the thread stops the scheduler next."""
        self._replica.revoke("this scheduler's ZooKeeper session was lost: it no longer "
                             "leads")
        self.wake()

    def deposed(self, why: str) -> None:
        """The store's fence refused a write: another replica took the store."""
        self._deposed = why
        self.wake()

    def _run(self) -> None:
        while True:
            self._wake.wait(CHECK_SECS)
            self._wake.clear()
            if self._stopping:
                return
            try:
                self._decide()
            except Exception:  # ZooKeeper or the store failed mid-way: look again shortly
                log.exception("leadership: deciding failed")
                self._wake.wait(CHECK_SECS)

    def _decide(self) -> None:
        if self._deposed is not None:
            why, self._deposed = self._deposed, None
            log.warning("deposed by the store's fence (%s): stepping down", why)
            self._replica.stop()
            self.candidacy.withdraw()  # and stand again, at the back
        if not self.candidacy.connected:
            # Suspended: a blip keeps leadership until the session is known lost.
            if self.candidacy.lost and self._replica.running:
                log.warning("ZooKeeper session lost: stopping the scheduler")
                self._replica.stop()
            self._leader = None
            return
        self.candidacy.stand()
        elected = self.candidacy.elected()
        if elected and not self._replica.running:
            self._lead()
        elif not elected and self._replica.running:
            log.warning("no longer the leader at %s: stopping the scheduler",
                        self.candidacy.where)
            self._replica.stop()
        self._leader = self.candidacy.leader()

    def _lead(self) -> None:
        log.info("elected at %s: starting the scheduler", self.candidacy.where)
        try:
            self._replica.start()
        except Exception:
            # Another candidate may do better (its store or backend may be reachable).
            log.exception("the scheduler did not start: giving up the candidacy")
            self.candidacy.withdraw()
            self._wake.wait(CHECK_SECS)
            return
        self.candidacy.advertise()
