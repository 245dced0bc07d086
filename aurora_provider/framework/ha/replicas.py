"""A scheduler replica in an election: its settings, and joining it (``--zk``)."""

from __future__ import annotations

from dataclasses import dataclass

from aurora_provider.api.serverset import Endpoint
from aurora_provider.framework.daemon import Daemon
from aurora_provider.framework.ha.leadership import Leadership

# Aurora's clusters.json examples put the scheduler's serverset here.
DEFAULT_ZK_PATH = "/aurora/scheduler"


@dataclass(frozen=True)
class ElectionSettings:
    hosts: str  # the ZooKeeper ensemble, HOST:PORT[,...]
    path: str  # where candidates stand and the leader advertises
    session_timeout_secs: float
    endpoint: Endpoint  # what this replica advertises when it leads (its --listen)

    def join(self, daemon: Daemon) -> Leadership:
        """Stand for leadership with ``daemon`` as what runs while this replica leads; the
        daemon redirects to the leader and steps down when the store's fence says so."""
        leadership = Leadership(daemon, self.hosts, self.path, self.session_timeout_secs,
                                self.endpoint)
        daemon.leader = leadership.leader
        daemon.on_deposed = leadership.deposed
        leadership.start(connect_timeout=max(self.session_timeout_secs, 3.0))
        return leadership
