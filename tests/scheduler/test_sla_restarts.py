"""Rolling restarts of ``sla_aware`` jobs honour the job's SLA policy (the real daemon): a
held instance waits at the head of the pending ones and the restart's message says why;
a job that is not ``sla_aware`` restarts a whole batch at once."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from aurora_provider.api import models as m
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration
POLICY = "CountSlaPolicy(count=2, duration_secs=1)"


def _started(d: Daemon, tmp_path: Path, name: str, *, sla_aware: bool) -> str:
    extra = (f", sla_policy={POLICY}, update_config=UpdateConfig(batch_size=3, "
             f"sla_aware={sla_aware})")
    wire = job_wire(tmp_path, name, "sleep 600", service=True, instances=3, extra=extra)
    key = f"devcluster/www/test/{name}"
    with d.client() as c:
        c.create_job(wire)
        eventually(lambda: c.job_summary(key).active.get("RUNNING") == 3, what="3 RUNNING")
    return key


def _watch(d: Daemon, key: str) -> tuple[m.RestartModel, list[m.RestartModel]]:
    """The restart's status until it ends, and every status seen on the way."""
    seen: list[m.RestartModel] = []
    deadline = time.monotonic() + 60
    with d.client() as c:
        while (status := c.restart_status(key)).state == "ACTIVE":
            assert time.monotonic() < deadline, status
            seen.append(status)
            time.sleep(0.05)  # sampling a live restart: nothing to wait for but the next one
    return status, seen


def test_an_sla_aware_restart_waits_for_the_policy(daemon: Daemon, tmp_path: Path) -> None:
    key = _started(daemon, tmp_path, "sla-restart", sla_aware=True)
    with daemon.client() as c:
        c.restart(key, batch_size=3)
    done, seen = _watch(daemon, key)
    assert done.state == "DONE" and sorted(done.done) == [0, 1, 2], done
    # The batch is 3, but the policy lets one instance go at a time.
    assert max(len(s.in_flight) for s in seen) == 1, [s.in_flight for s in seen]
    # Which later instance is seen held depends on how quickly the rounds judge each
    # replacement (on a loaded machine one may already have run 1s): one of them is.
    held = {s.message for s in seen if s.message}
    assert any(re.search(r"instance [12] held by SLA: 1 of 3 instances would remain RUNNING "
                         r"for 1s, policy needs 2", h) for h in held), held
    assert done.message is None, done.message  # the hold's reason went once it was let go
    with daemon.client() as c:
        c.killall(key)


def test_a_job_that_is_not_sla_aware_restarts_the_whole_batch(daemon: Daemon,
                                                              tmp_path: Path) -> None:
    key = _started(daemon, tmp_path, "plain-restart", sla_aware=False)
    with daemon.client() as c:
        c.restart(key, batch_size=3)
    done, seen = _watch(daemon, key)
    assert done.state == "DONE" and sorted(done.done) == [0, 1, 2], done
    assert next(s.in_flight for s in seen if s.in_flight) == [0, 1, 2], seen
    assert not any(s.message for s in seen), [s.message for s in seen]
    with daemon.client() as c:
        c.killall(key)
