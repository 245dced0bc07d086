"""The Mesos backend inside the real scheduler, over a driver that records its calls.

The driver's own wire behaviour is tested in ``tests/mesos``; here: offers reach placement,
launches become ACCEPTs of the right offers, Mesos's states become the scheduler's, updates
are acknowledged only once persisted, offers are declined, suppressed and revived,
reconciliation follows every subscription, kills are retried, partitions end by policy.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.framework.backends.mesos import MesosBackend, MesosSettings
from aurora_provider.framework.storage.scheduler_state import FRAMEWORK_ID
from aurora_provider.mesos.errors import MasterUnreachable
from aurora_provider.mesos.task_data import AssignedTask
from aurora_provider.states.task import TaskState
from tests.fakes import Clock, SchedulerWorld, typed
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.unit
S = TaskState
JOB = "www/test/web"


class RecordingDriver:
    """Stands for ``MesosSchedulerDriver``: the test plays the master through ``cb``."""

    def __init__(self, scheduler: Any, framework_info: dict[str, Any], master: str,
                 **options: Any) -> None:
        self.cb = scheduler
        self.framework_info = framework_info
        self.master = master
        self.options = options
        self.calls: list[tuple[str, Any]] = []
        self.connected = False
        self.last_error: str | None = "cannot reach Mesos master m:5050: connection refused"
        self.framework_id: str | None = (framework_info.get("id") or {}).get("value")
        self.stopped: bool | None = None
        self.failures: dict[str, Exception] = {}  # call type -> what it fails with

    def start(self) -> None:
        self.calls.append(("start", None))

    def stop(self, failover: bool = True) -> None:
        self.stopped = failover

    def join(self, timeout: float | None = None) -> bool:
        return True

    def subscribe(self, framework_id: str = "fw-1") -> None:
        """The master answers SUBSCRIBED."""
        first = self.framework_id is None
        self.framework_id, self.connected, self.last_error = framework_id, True, None
        if first:
            self.cb.registered(self, framework_id, {"address": {"ip": "127.0.0.1"}})
        else:
            self.cb.reregistered(self, {"address": {"ip": "127.0.0.1"}})

    def call_many(self, batch: list[tuple[str, dict[str, Any] | None]]) -> list[Any]:
        """The backend's calls (pipelined batches), recorded as the driver's methods would
        take them: ``("launch", (offer_ids, task_infos, filters))``, ``("kill", (task_id,
        agent_id))``...; a kind in ``failures`` fails with its error."""
        answers: list[Any] = []
        for kind, body in batch:
            failure = self.failures.get(kind)
            if failure is None:
                self.calls.append(as_method(kind, body or {}))
            answers.append(failure)
        return answers

    def named(self, name: str) -> list[Any]:
        return [args for called, args in self.calls if called == name]


def as_method(kind: str, body: dict[str, Any]) -> tuple[str, Any]:
    """A call's wire form as the driver method that sends it, with its arguments."""
    def ids(key: str) -> list[str]:
        return [o["value"] for o in body[key]]

    if kind == "ACCEPT":
        (operation,) = body["operations"]
        return "launch", (ids("offer_ids"), operation["launch"]["task_infos"],
                          body.get("filters"))
    if kind == "DECLINE":
        return "decline", (ids("offer_ids"), body.get("filters"))
    if kind == "KILL":
        return "kill", (body["task_id"]["value"], (body.get("agent_id") or {}).get("value"))
    if kind == "RECONCILE":
        return "reconcile", (body["tasks"],)
    if kind == "ACKNOWLEDGE":
        return "acknowledge", (body,)
    return kind.lower(), ()


def offer(offer_id: str, agent: str, *, cpus: float = 8, mem: float = 8192,
          ports: tuple[int, int] = (31000, 31009), rack: str = "a") -> dict[str, Any]:
    return {"id": {"value": offer_id}, "agent_id": {"value": agent},
            "framework_id": {"value": "fw-1"}, "hostname": f"host-{agent}",
            "resources": [
                {"name": "cpus", "type": "SCALAR", "scalar": {"value": cpus}, "role": "*"},
                {"name": "mem", "type": "SCALAR", "scalar": {"value": mem}, "role": "*"},
                {"name": "disk", "type": "SCALAR", "scalar": {"value": 10000}, "role": "*"},
                {"name": "ports", "type": "RANGES", "role": "*",
                 "ranges": {"range": [{"begin": ports[0], "end": ports[1]}]}}],
            "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": rack}}]}


def update(task_id: str, state: str, *, uuid: str | None = "dXVpZA==", agent: str = "a1",
           message: str = "", reason: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"task_id": {"value": task_id}, "state": state,
                              "agent_id": {"value": agent}, "source": "SOURCE_EXECUTOR"}
    if uuid:
        status["uuid"] = uuid
    if message:
        status["message"] = message
    if reason:
        status["reason"] = reason
    return status


class MesosWorld(SchedulerWorld):
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.drivers: list[RecordingDriver] = []
        self.mesos = MesosSettings(master="m:5050", executor_command="aurora-executor -x",
                                   offer_hold_secs=0, **settings)
        clock = Clock()
        # The backend reads the store the world opens: build the world, then swap it in.
        super().__init__(tmp_path, clock=clock)
        self.boot(self.mesos_backend())  # type: ignore[arg-type]

    def mesos_backend(self) -> MesosBackend:
        def factory(*args: Any, **kwargs: Any) -> RecordingDriver:
            driver = RecordingDriver(*args, **kwargs)
            self.drivers.append(driver)
            return driver
        return MesosBackend(self.mesos, self.store.state, clock=self.clock,
                            driver_factory=factory, send_inline=True)

    @property
    def driver(self) -> RecordingDriver:
        return self.drivers[-1]

    def create(self, tmp_path: Path, instances: int = 1, **kwargs: Any) -> list[str]:
        wire = job_wire(tmp_path, "web", "sleep 60", service=True, instances=instances,
                        **kwargs)
        return self.parts.jobs.create(typed(wire)).task_ids


@pytest.fixture
def world(tmp_path: Path) -> MesosWorld:
    w = MesosWorld(tmp_path)
    w.driver.subscribe()
    return w


def test_registers_as_aurora_did_and_stores_its_framework_id(tmp_path: Path) -> None:
    w = MesosWorld(tmp_path, role="aurora", principal="sched", secret="s3cret")
    info = w.driver.framework_info
    assert info["name"] == "Aurora" and info["checkpoint"] is True
    assert info["failover_timeout"] == 21 * 24 * 3600 and "id" not in info
    assert {"type": "PARTITION_AWARE"} in info["capabilities"]
    assert info["roles"] == ["aurora"] and info["principal"] == "sched"
    assert w.driver.options["principal"] == "sched" and w.driver.options["secret"] == "s3cret"
    assert w.backend.problem() == "cannot reach Mesos master m:5050: connection refused"  # type: ignore[attr-defined]
    w.driver.subscribe("fw-42")
    assert w.backend.problem() is None  # type: ignore[attr-defined]
    assert w.store.state.get(FRAMEWORK_ID) == "fw-42"
    # After a restart the scheduler fails over: it subscribes with the stored id.
    w.parts.backend.stop()
    assert w.driver.stopped is True  # failover: Mesos keeps the tasks
    w.boot(w.mesos_backend())  # type: ignore[arg-type]
    assert w.driver.framework_info["id"] == {"value": "fw-42"}


def test_offers_are_placed_and_launched_with_the_executor(world: MesosWorld,
                                                          tmp_path: Path) -> None:
    (task_id,) = world.create(tmp_path, ports=True)
    world.driver.cb.resourceOffers(world.driver, [offer("o1", "a1"), offer("o2", "a1")])
    world.rounds(1)
    ((offer_ids, (info,), filters),) = world.driver.named("launch")
    assert sorted(offer_ids) == ["o1", "o2"]  # both offers of the agent, in one ACCEPT
    assert filters == {"refuse_seconds": 0}  # what is left is offered again at once
    assert info["task_id"] == {"value": task_id} and info["agent_id"] == {"value": "a1"}
    resources = {r["name"]: r for r in info["resources"]}
    assert resources["cpus"]["scalar"]["value"] == 0.01
    (port_range,) = resources["ports"]["ranges"]["range"]
    assert 31000 <= port_range["begin"] <= 31009
    executor = info["executor"]
    assert executor["command"] == {"value": "aurora-executor -x", "shell": True}
    assert executor["executor_id"] == {"value": f"thermos-{task_id}"}
    assert {r["name"] for r in executor["resources"]} >= {"cpus", "mem"}
    data = AssignedTask.from_base64(info["data"])
    assert data.task_id == task_id and data.hostname == "host-a1"
    assert data.ports == {"http": port_range["begin"]}
    assert json.loads(data.executor_data)["name"] == "web"
    row = world.parts.ledger.get(task_id)
    assert row is not None and row.status is S.ASSIGNED and row.host == "host-a1"


def test_statuses_follow_aurora_mapping_and_are_acknowledged_once_persisted(
        world: MesosWorld, tmp_path: Path) -> None:
    (task_id,) = world.create(tmp_path)
    world.driver.cb.resourceOffers(world.driver, [offer("o1", "a1")])
    world.rounds(1)
    world.driver.cb.statusUpdate(world.driver, update(task_id, "TASK_STARTING"))
    world.driver.cb.statusUpdate(world.driver, update(task_id, "TASK_RUNNING",
                                                      message="Task healthy"))
    world.rounds(1)
    assert world.parts.ledger.get(task_id).status is S.RUNNING  # type: ignore[union-attr]
    assert world.driver.named("acknowledge") == []  # not before the round persisted them
    world.rounds(1)
    assert len(world.driver.named("acknowledge")) == 2
    # A reconciliation answer carries no uuid: nothing to acknowledge.
    world.driver.cb.statusUpdate(world.driver, update(task_id, "TASK_RUNNING", uuid=None))
    world.rounds(2)
    assert len(world.driver.named("acknowledge")) == 2


@pytest.mark.parametrize(("mesos_state", "reason", "expected", "says"), [
    ("TASK_FAILED", None, S.FAILED, "Process main failed"),
    ("TASK_ERROR", "REASON_TASK_INVALID", S.LOST, "Invalid task"),
    ("TASK_DROPPED", None, S.LOST, "Dropped"),
    ("TASK_GONE", None, S.LOST, "Gone"),
    ("TASK_LOST", "REASON_AGENT_REMOVED", S.LOST, "Agent removed from the cluster"),
])
def test_mesos_endings_become_aurora_endings(world: MesosWorld, tmp_path: Path,
                                             mesos_state: str, reason: str | None,
                                             expected: TaskState, says: str) -> None:
    (task_id,) = world.create(tmp_path)
    world.driver.cb.resourceOffers(world.driver, [offer("o1", "a1")])
    world.rounds(1)
    message = "Process main failed" if mesos_state == "TASK_FAILED" else ""
    world.driver.cb.statusUpdate(world.driver, update(task_id, mesos_state, reason=reason,
                                                      message=message))
    world.rounds(1)
    ended = world.store.tasks.task(task_id)
    assert ended is not None and ended.status is expected
    events = world.store.tasks.events(task_ids=[task_id])[task_id]
    assert says in (events[-1].message or "")
    # A service is rescheduled: a new PENDING task for instance 0.
    assert [r.status for r in world.active(JOB)] in ([S.PENDING], [S.THROTTLED])


def test_unused_offers_are_declined_and_offers_suppressed_then_revived(
        world: MesosWorld, tmp_path: Path) -> None:
    world.driver.cb.resourceOffers(world.driver, [offer("o1", "a1")])
    # Held through a round that had nothing pending: declined with a filter, and offers
    # suppressed.
    world.rounds(2)
    assert world.driver.named("decline") == [(["o1"], {"refuse_seconds": 5.0})]
    assert world.driver.named("suppress") == [()]
    world.boot(world.mesos_backend())  # type: ignore[arg-type]  # a fresh sender
    world.driver.subscribe()
    world.rounds(1)
    world.backend._suppressed = True  # type: ignore[attr-defined]  # as left by the round
    world.create(tmp_path)
    world.rounds(1)  # a task is pending: offers wanted again
    assert world.driver.named("revive") == [()]


def test_an_unknown_task_reported_by_mesos_is_killed_and_known_ones_reconciled(
        tmp_path: Path) -> None:
    w = MesosWorld(tmp_path)
    (task_id,) = w.create(tmp_path)
    w.driver.subscribe()
    w.driver.cb.resourceOffers(w.driver, [offer("o1", "a1")])
    w.rounds(1)
    w.parts.backend.stop()
    w.boot(w.mesos_backend())  # type: ignore[arg-type]  # a scheduler restart
    w.driver.subscribe("fw-1")
    w.rounds(1)
    explicit, implicit = w.driver.named("reconcile")
    assert explicit == ([{"task_id": {"value": task_id}, "agent_id": {"value": "a1"}}],)
    assert implicit == ([],)
    w.boot(w.mesos_backend())  # type: ignore[arg-type]
    w.driver.subscribe("fw-1")
    w.driver.cb.statusUpdate(w.driver, update("stranger-0-x", "TASK_RUNNING", agent="a2",
                                              uuid=None))
    w.rounds(2)
    assert ("stranger-0-x", "a2") in w.driver.named("kill")


def test_kills_are_sent_again_until_answered(world: MesosWorld, tmp_path: Path) -> None:
    (task_id,) = world.create(tmp_path)
    world.driver.cb.resourceOffers(world.driver, [offer("o1", "a1")])
    world.rounds(1)
    world.parts.jobs.kill(JOB, None, "test", None)
    world.rounds(1)
    world.clock.now += world.mesos.kill_retry_secs + 1
    world.rounds(1)
    assert world.driver.named("kill") == [(task_id, "a1"), (task_id, "a1")]


def test_a_partitioned_task_is_lost_when_its_policy_stops_waiting(tmp_path: Path) -> None:
    w = MesosWorld(tmp_path)
    w.driver.subscribe()
    wire = job_wire(tmp_path, "web", "sleep 60", service=True,
                    extra=", partition_policy=PartitionPolicy(reschedule=True, delay_secs=30)")
    (task_id,) = w.parts.jobs.create(typed(wire)).task_ids
    w.driver.cb.resourceOffers(w.driver, [offer("o1", "a1")])
    w.rounds(1)
    w.driver.cb.statusUpdate(w.driver, update(task_id, "TASK_RUNNING"))
    w.driver.cb.statusUpdate(w.driver, update(task_id, "TASK_UNREACHABLE",
                                              reason="REASON_AGENT_UNREACHABLE"))
    w.rounds(1)
    assert w.parts.ledger.get(task_id).status is S.PARTITIONED  # type: ignore[union-attr]
    w.clock.now += 31
    w.rounds(1)
    lost = w.store.tasks.task(task_id)
    assert lost is not None and lost.status is S.LOST


def test_bytes_are_base64_in_task_data() -> None:
    task = AssignedTask("t-1", 0, "h", '{"name": "x"}', {"http": 31000})
    raw = json.loads(base64.b64decode(task.to_base64()))
    assert raw["ports"] == {"http": 31000}
    assert AssignedTask.from_base64(task.to_base64()) == task


@pytest.mark.parametrize("data", ['{"n":1}', '{"n":12}', '{"n":123}', '{"q":"\\"\u00e9"}'])
def test_task_data_shares_the_jobs_encoding_yet_decodes_as_one_object(data: str) -> None:
    """The job's part is encoded once per configuration and joined to each task's part:
    whatever the length of the job's JSON, the whole is one valid base64 JSON object."""
    task = AssignedTask("t-1", 3, "h", data, {"http": 31000}, "zk:2181")
    encoded = task.to_base64()
    assert json.loads(base64.b64decode(encoded, validate=True)) == json.loads(task.to_json())
    assert AssignedTask.from_base64(encoded) == task
    other = AssignedTask("t-2", 4, "h2", data)
    assert AssignedTask.from_base64(other.to_base64()) == other


def test_a_rescinded_offer_is_not_used(world: MesosWorld, tmp_path: Path) -> None:
    world.driver.cb.resourceOffers(world.driver, [offer("o1", "a1")])
    world.driver.cb.offerRescinded(world.driver, "o1")
    (task_id,) = world.create(tmp_path)
    world.rounds(1)
    assert world.driver.named("launch") == []
    assert world.parts.ledger.get(task_id).status is S.PENDING  # type: ignore[union-attr]
    world.driver.cb.resourceOffers(world.driver, [offer("o2", "a2")])
    world.rounds(1)
    ((offer_ids, _, _),) = world.driver.named("launch")
    assert offer_ids == ["o2"]


def test_a_launch_that_cannot_reach_mesos_is_lost_and_rescheduled(world: MesosWorld,
                                                                 tmp_path: Path) -> None:
    (task_id,) = world.create(tmp_path)
    world.driver.cb.resourceOffers(world.driver, [offer("o1", "a1")])

    world.driver.failures["ACCEPT"] = MasterUnreachable(
        "cannot send ACCEPT to Mesos master m:5050: connection refused")
    world.rounds(2)
    lost = world.store.tasks.task(task_id)
    assert lost is not None and lost.status is S.LOST
    events = world.store.tasks.events(task_ids=[task_id])[task_id]
    assert "could not be sent to the Mesos master" in (events[-1].message or "")
    assert [r.status for r in world.active(JOB)] in ([S.PENDING], [S.THROTTLED])
