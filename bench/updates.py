"""Rolling update throughput: 1,000 instances, batch 100, watch_secs 0.

The real core, update controller and store (SQLite, WAL) with a synthetic backend that
confirms every launch and kill at once, rounds run back to back. Every task change, the
update's progress and each instance event are persisted before the kills and launches they
cause. Reports instances updated per second against the 500/s goal and against the raw
batched-insert rate of the same store measured in the same run (the storage floor), and the
number of scheduling rounds per batch (what bounds a daemon running one round every
``--round-interval``).

Run: ``.venv/bin/python bench/updates.py`` (a few seconds).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aurora_provider.api import models as m
from aurora_provider.framework.backends.base import Launch, StatusUpdate
from aurora_provider.framework.core import Scheduler
from aurora_provider.framework.jobs import JobService
from aurora_provider.framework.placement import Offer
from aurora_provider.framework.settings import SchedulerSettings
from aurora_provider.framework.state import TaskState
from aurora_provider.framework.storage import open_store
from aurora_provider.framework.update_state import UpdateStatus
from aurora_provider.framework.update_store import instance_events
from aurora_provider.framework.updates import UpdateController

INSTANCES = 1000
BATCH = 100
GOAL = 500.0
JOB = "bench/prod/web"


class InstantBackend:
    """20 large agents; every launch is RUNNING and every kill KILLED by the next round."""

    name = "instant"

    def __init__(self) -> None:
        self.pending: list[StatusUpdate] = []

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def offers(self) -> list[Offer]:
        return [Offer(str(uuid.uuid4()), f"agent-{i}", f"host-{i:02d}", 10_000.0, 10_000_000,
                      10_000_000, port_ranges=[(31000, 32000)]) for i in range(20)]

    def launch(self, launches: Sequence[Launch]) -> None:
        for launch in launches:
            self.pending.append(StatusUpdate(launch.task_id, TaskState.STARTING))
            self.pending.append(StatusUpdate(launch.task_id, TaskState.RUNNING))

    def kill(self, task_ids: Sequence[str]) -> None:
        self.pending += [StatusUpdate(t, TaskState.KILLED) for t in task_ids]

    def poll(self) -> list[StatusUpdate]:
        found, self.pending = self.pending, []
        return found

    def reconcile(self, running: Sequence[Launch]) -> list[StatusUpdate]:
        return []


def job(version: str) -> m.JobConfiguration:
    return m.JobConfiguration.model_validate({
        "key": {"cluster": "devcluster", "role": "bench", "environment": "prod", "name": "web"},
        "instances": INSTANCES,
        "task": {"is_service": True, "resources": {"cpu": 0.5, "ram_mb": 256, "disk_mb": 256},
                 "executor_config": {"data": json.dumps({"version": version,
                                                          "pad": "x" * 2000})}},
        "update_config": {"batch_size": BATCH, "watch_secs": 0,
                          "wait_for_batch_completion": True}})


def insert_floor(core: Scheduler, rows: int = INSTANCES) -> float:
    """Rows/s of one batched insert of instance events into the same store."""
    data = [{"update_id": "floor", "instance": i, "timestamp": time.time(),
             "action": "INSTANCE_UPDATED"} for i in range(rows)]
    started = time.perf_counter()
    with core.store.transaction() as tx:
        tx.connection.execute(instance_events.insert(), data)
    return rows / (time.perf_counter() - started)


def trial() -> tuple[float, int, int, float]:
    """One update on a fresh store: (seconds, rounds, persisted instance events, floor)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        core = Scheduler(store, InstantBackend(), SchedulerSettings(flapping_threshold_secs=0))
        core.recover()
        jobs = JobService(core)
        controller = UpdateController.attach(core)
        jobs.create(job("v1"))
        while len(core.cache.in_state(TaskState.RUNNING)) < INSTANCES:
            core.run_round()
        started = time.perf_counter()
        record = controller.start(job("v2"), "bench")
        rounds = 0
        while JOB in controller.active and rounds < 1000:
            core.run_round()
            rounds += 1
        secs = time.perf_counter() - started
        done = controller.get(JOB, record.update_id)
        if done.status is not UpdateStatus.ROLLED_FORWARD:
            raise SystemExit(f"the update ended {done.status}")
        persisted = len(controller.reader.instance_events(record.update_id))
        return secs, rounds, persisted, insert_floor(core)


def main() -> None:
    trials = sorted(trial() for _ in range(3))
    secs, rounds, persisted, _ = trials[1]  # the median run
    floor = statistics.median(t[3] for t in trials)
    rate = INSTANCES / secs
    print(f"rolling update: {INSTANCES} instances, batch {BATCH}, watch_secs 0 (median of 3): "
          f"{secs:.2f} s in {rounds} rounds ({rounds / (INSTANCES / BATCH):.1f} per batch)")
    print(f"  {rate:,.0f} instances/s = {rate / GOAL:.2f}x the {GOAL:.0f}/s goal; "
          f"{persisted} instance events persisted")
    print(f"  storage floor (batched insert of instance events, same store): {floor:,.0f} "
          f"rows/s; update rate / floor = {rate / floor:.4f}")


if __name__ == "__main__":
    main()
