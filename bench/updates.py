"""Rolling update throughput: 1,000 instances, batch 100, watch_secs 0.

The real scheduler (the composition root's parts: core, update engine and controller, the
HTTP app, store on SQLite, WAL) with a synthetic backend (``tests.fakes``) that confirms
every launch and kill at once, rounds run back to back, in a process whose imported objects
are frozen out of the garbage collector's sight, as the daemon's are. Every task change, the
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aurora_provider.api import models as m
from aurora_provider.framework.core.settings import SchedulerSettings
from aurora_provider.framework.daemon import freeze_imported_objects
from aurora_provider.framework.model.job_config import JobConfig
from aurora_provider.framework.storage.store import Store
from aurora_provider.framework.storage.tables import update_instance_events
from aurora_provider.states.task import TaskState
from aurora_provider.states.update import UpdateStatus
from tests.fakes import Agent, FakeBackend, SchedulerWorld

INSTANCES = 1000
BATCH = 100
GOAL = 500.0
JOB = "bench/prod/web"


def instant() -> FakeBackend:
    """20 large agents; every launch is RUNNING and every kill KILLED by the next round."""
    return FakeBackend([Agent(f"host-{i:02d}", 10_000.0, 10_000_000, 10_000_000)
                        for i in range(20)], starts="starting")


def job(version: str) -> JobConfig:
    return JobConfig.from_wire(m.JobConfiguration.model_validate({
        "key": {"cluster": "devcluster", "role": "bench", "environment": "prod", "name": "web"},
        "instances": INSTANCES,
        "task": {"is_service": True, "resources": {"cpu": 0.5, "ram_mb": 256, "disk_mb": 256},
                 "executor_config": {"data": json.dumps({"version": version,
                                                          "pad": "x" * 2000})}},
        "update_config": {"batch_size": BATCH, "watch_secs": 0,
                          "wait_for_batch_completion": True}}).model_dump(mode="json"))


def insert_floor(store: Store, rows: int = INSTANCES) -> float:
    """Rows/s of one batched insert of instance events into the same store."""
    data = [{"update_id": "floor", "instance": i, "timestamp": time.time(),
             "action": "INSTANCE_UPDATED"} for i in range(rows)]
    started = time.perf_counter()
    with store.transaction() as tx:
        tx.execute(update_instance_events.insert(), data)
    return rows / (time.perf_counter() - started)


def trial() -> tuple[float, int, int, float]:
    """One update on a fresh store: (seconds, rounds, persisted instance events, floor)."""
    with tempfile.TemporaryDirectory() as tmp:
        parts = SchedulerWorld(Path(tmp), instant(), clock=time.time,
                               settings=SchedulerSettings(flapping_threshold_secs=0)).parts
        parts.jobs.create(job("v1"))
        while len(parts.ledger.in_state(TaskState.RUNNING)) < INSTANCES:
            parts.scheduler.run_round()
        started = time.perf_counter()
        record = parts.updates.start(job("v2"), "bench")
        rounds = 0
        while parts.active_updates.get(JOB) is not None and rounds < 1000:
            parts.scheduler.run_round()
            rounds += 1
        secs = time.perf_counter() - started
        done = parts.updates.get(JOB, record.update_id)
        if done.status is not UpdateStatus.ROLLED_FORWARD:
            raise SystemExit(f"the update ended {done.status}")
        persisted = len(parts.updates.instance_events(record.update_id))
        floor = insert_floor(parts.store)
        parts.store.close()
        return secs, rounds, persisted, floor


def main() -> None:
    freeze_imported_objects()  # as the daemon does at start-up
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
