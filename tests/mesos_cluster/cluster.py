"""``MesosCluster``: masters and agents that tests and benchmarks use as a Mesos cluster.

    with MesosCluster(tmp_path, agents=3) as cluster:
        cluster.master_url     # what --mesos-master takes: "127.0.0.1:PORT" or "zk://.../mesos"
        cluster.tasks()        # the leading master's view of every task

Everything listens on 127.0.0.1; ``stop()`` (or leaving the ``with``) destroys every
executor it launched and stops every server and thread, then raises if a component of
the cluster failed while it ran (a bug of the fixture must not pass unnoticed).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.mesos_cluster.actor import Actor, bind_socket
from tests.mesos_cluster.agent import Agent
from tests.mesos_cluster.agent_base import AgentConfig
from tests.mesos_cluster.instant import InstantAgent
from tests.mesos_cluster.master import Master, MasterConfig
from tests.mesos_cluster.master_state import RecordedCall, Registry
from tests.mesos_cluster.resources import from_spec
from tests.mesos_cluster.wire import Json
from tests.mesos_cluster.zk import LeaderWatch, LocalElection, ZkContender

log = logging.getLogger(__name__)

DEFAULT_RESOURCES = {"cpus": 4.0, "mem": 8192.0, "disk": 32768.0}
PORTS_BEGIN, PORTS_END = 31000, 32000  # a Mesos agent's default ports


class MesosClusterError(RuntimeError):
    """The cluster could not start, or one of its components failed while it ran."""


def default_ports(index: int, agents: int) -> tuple[int, int]:
    """Agent ``index``'s share of 31000-32000: all agents share this machine's ports."""
    if agents <= 1:
        return PORTS_BEGIN, PORTS_END
    span = max((PORTS_END - PORTS_BEGIN) // agents, 1)
    begin = PORTS_BEGIN + index * span
    return begin, begin + span - 1


def text_attributes(attributes: dict[str, Any]) -> list[Json]:
    out: list[Json] = []
    for name, found in attributes.items():
        if isinstance(found, int | float) and not isinstance(found, bool):
            out.append({"name": name, "type": "SCALAR", "scalar": {"value": float(found)}})
        else:
            out.append({"name": name, "type": "TEXT", "text": {"value": str(found)}})
    return out


class MesosCluster:
    """``masters`` masters and ``agents`` agents (``agent-0`` ...), all on 127.0.0.1.

    :param work_dir: where agents keep their sandboxes (``agent-N/slaves/...``).
    :param zk: ZooKeeper hosts: masters then join ``zk_path`` as Mesos's do, and
        ``master_url`` is ``zk://...``; without it several masters elect in-process.
    :param instant: agents that launch nothing (TASK_RUNNING at once), for benchmarks.
    :param heartbeat_interval: seconds between HEARTBEAT events (Mesos: 15).
    :param allocation_interval: seconds between offer cycles (Mesos: 1).
    :param agent_resources: one spec for all agents or one per agent: ``--resources``
        text (``"cpus:2;mem:1024;ports:[31000-31010]"``), v1 JSON or a dict; the default
        is 4 cpus, 8 GB, 32 GB of disk and a share of ports 31000-32000 for each.
    :param agent_attributes: one dict per agent (``{"rack": "a"}``); default host and rack.
    :param agent_hostnames: the hostname each agent reports (default ``agent-N``, which
        names no machine). A real agent reports its ``--hostname``, else the name of the
        address it binds: ``localhost`` for 127.0.0.1, whose services (an observer) the
        scheduler's ``{host}`` templates then reach.
    :param credentials: (principal, secret) the scheduler API then requires (HTTP basic).
    :param env: added to the test's environment for every executor.
    :param recovery_period: how long a newly elected master answers 503.
    :param status_update_retry: the first resend interval of an unacknowledged update
        (doubling; Mesos: 10 s).
    :param executor_registration_timeout: an executor that has not subscribed by then is
        destroyed and its tasks fail (Mesos: 1 min).
    :param executor_reregistration_timeout: after ``agent.restart()``, the time executors
        have to re-subscribe (Mesos: 2 s).
    :param executor_shutdown_grace_period: between SHUTDOWN and SIGKILL (Mesos: 5 s).
    :param executor_heartbeat_interval: between HEARTBEAT events to executors (Mesos: 30 min).
    :param validate_events: check every event the cluster sends against the v1 schema.
    """

    def __init__(self, work_dir: str | Path, agents: int = 3, masters: int = 1,
                 zk: str | None = None, zk_path: str = "/mesos", instant: bool = False,
                 heartbeat_interval: float = 15.0, allocation_interval: float = 0.05,
                 agent_resources: Any = None,
                 agent_attributes: Sequence[dict[str, Any]] | None = None,
                 credentials: tuple[str, str] | None = None,
                 env: dict[str, str] | None = None, *,
                 agent_hostnames: Sequence[str] | None = None, recovery_period: float = 0.0,
                 status_update_retry: float = 10.0,
                 executor_registration_timeout: float = 60.0,
                 executor_reregistration_timeout: float = 2.0,
                 executor_shutdown_grace_period: float = 5.0,
                 executor_heartbeat_interval: float = 1800.0,
                 validate_events: bool = True, master_port: int = 0) -> None:
        if masters < 1 or agents < 0:
            raise ValueError(f"a cluster needs a master and no negative agents "
                             f"(masters={masters}, agents={agents})")
        self.work_dir = Path(work_dir)
        self.zk, self.zk_path = zk, "/" + zk_path.strip("/")
        self.instant = instant
        self.errors: list[str] = []
        self.calls: list[RecordedCall] = []
        self.executor_calls: list[RecordedCall] = []
        self._launched: list[subprocess.Popen[bytes]] = []
        self._registry = Registry()
        config = MasterConfig(heartbeat_interval, allocation_interval, recovery_period,
                              credentials, validate_events=validate_events)
        # Instant agents share one loop, and their masters run on it too: a hundred agents
        # and a master that only pass messages need no threads to hand the GIL between.
        self._instant_actor = Actor("instant-cluster", self.errors) if instant else None
        # ``master_port``: the first master's port (0: any free one), to try things by hand.
        self.masters = [Master(f"master-{i}", config, self._registry, self.errors, self.calls,
                               master_port if i == 0 else 0,
                               self._instant_actor.guest(f"master-{i}")
                               if self._instant_actor is not None else None)
                        for i in range(masters)]
        self._watch: LeaderWatch | None = None
        self._election: LocalElection | None = None
        self._leader: Master | None = None
        if agent_hostnames is not None and len(agent_hostnames) != agents:
            raise ValueError(f"agent_hostnames has {len(agent_hostnames)} entries for "
                             f"{agents} agents")
        self.agents: list[Agent | InstantAgent] = []
        base_env = {**os.environ, **(env or {})}
        for i in range(agents):
            agent_config = AgentConfig(
                hostname=agent_hostnames[i] if agent_hostnames else f"agent-{i}",
                resources=self._resources(agent_resources, i, agents),
                attributes=self._attributes(agent_attributes, i, agents),
                work_dir=str(self.work_dir / f"agent-{i}"),
                status_update_retry=status_update_retry,
                executor_registration_timeout=executor_registration_timeout,
                executor_reregistration_timeout=executor_reregistration_timeout,
                executor_shutdown_grace_period=executor_shutdown_grace_period,
                executor_heartbeat_interval=executor_heartbeat_interval,
                env=base_env)
            self.agents.append(self._agent(i, agent_config))
        self._started = False

    @staticmethod
    def _resources(spec: Any, index: int, agents: int) -> list[Json]:
        if isinstance(spec, list | tuple) and not (spec and isinstance(spec[0], dict)
                                                   and "name" in spec[0]):
            if len(spec) != agents:
                raise ValueError(f"agent_resources has {len(spec)} entries for {agents} agents")
            spec = spec[index]
        if spec is None:
            begin, end = default_ports(index, agents)
            return from_spec({**DEFAULT_RESOURCES, "ports": [(begin, end)]})
        return from_spec(spec)

    @staticmethod
    def _attributes(spec: Sequence[dict[str, Any]] | None, index: int,
                    agents: int) -> list[Json]:
        if spec is None:
            return text_attributes({"host": f"agent-{index}", "rack": f"rack-{index % 2}"})
        if len(spec) != agents:
            raise ValueError(f"agent_attributes has {len(spec)} entries for {agents} agents")
        return text_attributes(spec[index])

    def _agent(self, index: int, config: AgentConfig) -> Agent | InstantAgent:
        if self._instant_actor is not None:
            with bind_socket() as sock:  # a distinct port for offers' URLs, never served
                port = sock.getsockname()[1]
            return InstantAgent(f"agent-{index}", config, self._instant_actor, port)
        return Agent(f"agent-{index}", config, self.errors, self.executor_calls, self._launched)

    # -- lifetime ------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> MesosCluster:
        self._started = True
        try:
            self._start(timeout)
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def _start(self, timeout: float) -> None:
        if self._instant_actor is not None:
            self._instant_actor.start()
        for master in self.masters:
            master.start()
        for agent in self.agents:
            agent.start()
        if self.zk is not None:
            self._watch = LeaderWatch(self.zk, self.zk_path, self._leader_changed)
            self._watch.start()
            for master in self.masters:
                master.contender = ZkContender(self.zk, self.zk_path,
                                               master.actor.call(master.info))
        else:
            self._election = LocalElection(self._leader_changed)
            for master in self.masters:
                master.contender = self._election.join(master.actor.call(master.info))
        self._wait(lambda: self.leader is not None and self.leader.elected
                   and self.leader.recovered, timeout, "a leading master")
        self._wait(lambda: all(a.registered for a in self.agents), timeout,
                   "every agent to register")

    def _wait(self, ready: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.errors:
                raise MesosClusterError("; ".join(self.errors))
            if time.monotonic() > deadline:
                raise MesosClusterError(f"the test Mesos cluster gave up waiting for {what}")
            time.sleep(0.01)

    def _leader_changed(self, info: Json | None) -> None:
        """The election's news (from a ZooKeeper or election thread): tell everyone."""
        leader = next((m for m in self.masters if info and m.id == info.get("id")), None)
        self._leader = leader
        log.info("leading master: %s", leader.name if leader else None)
        for master in self.masters:
            master.actor.post(master.on_detected, info)
        link = leader.link() if leader is not None else None
        for agent in self.agents:
            agent.actor.post(agent.detected, link)

    def stop(self, check: bool = True) -> None:
        """Stop everything; raise ``MesosClusterError`` if a component failed meanwhile."""
        if not self._started:
            return
        self._started = False
        for agent in self.agents:
            agent.stop()
        for master in self.masters:
            master.stop()
        if self._instant_actor is not None:
            self._instant_actor.stop()
        if self._watch is not None:
            self._watch.stop()
        self._reap()
        if check and self.errors:
            raise MesosClusterError("the test Mesos cluster failed: " + "; ".join(self.errors))

    def _reap(self) -> None:
        for process in self._launched:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                self.errors.append(f"executor pid {process.pid} survived SIGKILL")

    def __enter__(self) -> MesosCluster:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop(check=kind is None)

    # -- what tests ask ------------------------------------------------------------------

    @property
    def leader(self) -> Master | None:
        return self._leader

    def _leading(self) -> Master:
        leader = self._leader
        if leader is None:
            raise MesosClusterError("no master leads the test Mesos cluster right now")
        return leader

    @property
    def master_address(self) -> str:
        return self._leading().address

    @property
    def master_url(self) -> str:
        if self.zk is not None:
            return f"zk://{self.zk}{self.zk_path}"
        return self.master_address

    def kill_leader(self, timeout: float = 60.0) -> Master:
        """The leading master dies (its znode with it); returns it once another leads, if
        one is left."""
        old = self._leading()
        old.stop()
        if any(m.alive for m in self.masters):
            self._wait(lambda: self.leader is not None and self.leader is not old
                       and self.leader.elected and self.leader.recovered, timeout,
                       "a new leading master")
        return old

    def tasks(self) -> list[Json]:
        """Every task the leading master knows: task_id, agent_id, hostname, state, ..."""
        leader = self._leading()
        result: list[Json] = leader.query(leader.task_summaries)
        return result

    def frameworks(self) -> list[Json]:
        """The leading master's frameworks: id, name, connected, role, failover_timeout..."""
        leader = self._leading()
        result: list[Json] = leader.query(leader.framework_summaries)
        return result

    def task(self, task_id: str) -> Json | None:
        return next((t for t in self.tasks() if t["task_id"] == task_id), None)

    def executor_pids(self) -> list[int]:
        """Every executor process the agents launched (alive or not)."""
        return [p.pid for p in self._launched]

    def agent(self, hostname_or_id: str) -> Agent | InstantAgent:
        for agent in self.agents:
            if hostname_or_id in (agent.hostname, agent.agent_id):
                return agent
        raise KeyError(f"no agent {hostname_or_id!r} in the test Mesos cluster")

    def agent_ids(self) -> list[str]:
        return [a.agent_id or "" for a in self.agents]
