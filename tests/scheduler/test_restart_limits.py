"""A rolling restart's watch and failure limits are kept by the scheduler: a scheduler
restart in the middle resumes the restart with them (the real daemon, stopped and started
on the same store)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def test_a_restart_resumes_with_its_limits_after_a_scheduler_restart(
        make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    daemon = make_daemon()
    key = "devcluster/www/test/resumed"
    wire = job_wire(tmp_path, "resumed", "sleep 600", service=True, instances=2)
    with daemon.client() as c:
        c.create_job(wire)
        eventually(lambda: c.job_summary(key).active.get("RUNNING") == 2, what="2 RUNNING")
        started = c.restart(key, batch_size=1, watch_secs=4, max_per_instance_failures=2,
                            max_total_failures=1)
        assert (started.watch_secs, started.max_per_instance_failures,
                started.max_total_failures) == (4, 2, 1)
        # The first instance's new task is being watched when the scheduler goes away.
        eventually(lambda: c.restart_status(key).in_flight == [0] and
                   c.job_summary(key).active.get("RUNNING") == 2, what="instance 0 watched")
    daemon.stop()
    daemon.start()
    with daemon.client() as c:
        resumed = c.restart_status(key)
        assert resumed.restart_id == started.restart_id and resumed.state == "ACTIVE"
        assert (resumed.watch_secs, resumed.max_per_instance_failures,
                resumed.max_total_failures) == (4, 2, 1)
        done = eventually(lambda: (r := c.restart_status(key)).state != "ACTIVE" and r,
                          timeout=90, what="restart over")
        assert done.state == "DONE" and sorted(done.done) == [0, 1], done
        c.killall(key)
