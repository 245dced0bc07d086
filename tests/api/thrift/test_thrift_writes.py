"""Cron, kill, addInstances and restartShards over Thrift, compared with REST's view."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.api.thrift.conftest import ALICE, BOB, rest
from tests.api.thrift.test_thrift_reads import aurora_client_job, wire_of
from tests.daemon import Daemon
from tests.eventually import eventually

pytestmark = pytest.mark.integration


def test_cron_schedule_start_replace_deschedule(thrift_daemon: Daemon, apache_api: ModuleType,
                                                apache_client: Any, tmp_path: Path) -> None:
    t, name = apache_api.ttypes, "thr-cron"
    ok = t.ResponseCode.OK
    alice = apache_client(token=ALICE)
    job = aurora_client_job(t, wire_of(tmp_path, name))
    job.cronSchedule = "0 0 1 1 *"
    # Not a cron job yet: replacing its template is refused, as in Aurora.
    assert alice.replaceCronTemplate(job).responseCode == t.ResponseCode.INVALID_REQUEST
    assert alice.scheduleCronJob(job).responseCode == ok
    with rest(thrift_daemon) as http:
        shown = http.get(f"/api/v1/cron/www/test/{name}").raise_for_status().json()
        assert (shown["schedule"], shown["collision_policy"]) == ("0 0 1 1 *", "KILL_EXISTING")
        job.cronSchedule = "0 0 2 1 *"
        assert alice.replaceCronTemplate(job).responseCode == ok
        assert http.get(f"/api/v1/cron/www/test/{name}").json()["schedule"] == "0 0 2 1 *"
        assert alice.startCronJob(job.key).responseCode == ok
        assert len(http.get(f"/api/v1/cron/www/test/{name}/runs").json()["runs"]) == 1
        assert apache_client(token=BOB).descheduleCronJob(job.key).responseCode == \
            t.ResponseCode.AUTH_FAILED
        assert alice.descheduleCronJob(job.key).responseCode == ok
        assert http.get(f"/api/v1/cron/www/test/{name}").status_code == 404
        again = alice.descheduleCronJob(job.key)
        assert again.responseCode == ok and "no cron job" in again.details[0].message


def test_kill_add_instances_and_restart(thrift_daemon: Daemon, apache_api: ModuleType,
                                        apache_client: Any, tmp_path: Path) -> None:
    t, name = apache_api.ttypes, "thr-kill"
    ok = t.ResponseCode.OK
    alice = apache_client(token=ALICE)
    wire = wire_of(tmp_path, name, tail="sleep 600", service=True)
    key = t.JobKey(role="www", environment="test", name=name)
    with rest(thrift_daemon) as http:
        http.post("/api/v1/jobs", json={"job": wire}).raise_for_status()

        def active() -> list[int]:
            status = http.get(f"/api/v1/jobs/www/test/{name}").json()
            return sorted(x["instance"] for x in status["active"] if x["status"] != "KILLING")

        added = alice.addInstances(t.InstanceKey(jobKey=key, instanceId=0), 1)
        assert added.responseCode == ok, added.details
        assert active() == [0, 1, 2]
        assert alice.restartShards(key, {0}).responseCode == ok
        restart = http.get(f"/api/v1/jobs/www/test/{name}/restart").json()
        assert sorted(restart["pending"] + restart["in_flight"] + restart["done"]) == [0]
        assert apache_client(token=BOB).killTasks(key, {1}, "no").responseCode == \
            t.ResponseCode.AUTH_FAILED
        assert alice.killTasks(key, {1}, "one").responseCode == ok
        assert 1 not in active()
        assert alice.killTasks(key, None, "all").responseCode == ok
        eventually(lambda: active() == [], timeout=10, what="every instance killed")
        nothing = alice.killTasks(t.JobKey(role="www", environment="test", name="thr-none"),
                                  None, None)
        assert (nothing.responseCode, nothing.details[0].message) == (ok, "No tasks to kill.")
