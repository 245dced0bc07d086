"""AuroraAdmin over Thrift: quota, maintenance, backups and recovery, admin only."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from tests.api.thrift.conftest import ADMIN, ALICE, rest
from tests.daemon import Daemon

pytestmark = pytest.mark.integration
HOST = "thrift-maint.example"  # no task runs there: the local agent is left alone


def test_quota_set_and_read_on_both_faces(thrift_daemon: Daemon, apache_api: ModuleType,
                                          apache_client: Any) -> None:
    t = apache_api.ttypes
    quota = t.ResourceAggregate(resources={t.Resource(numCpus=4.0), t.Resource(ramMb=2048),
                                           t.Resource(diskMb=4096)})
    denied = apache_client(token=ALICE).setQuota("thr-quota", quota)
    assert denied.responseCode == t.ResponseCode.AUTH_FAILED
    assert apache_client(token=ADMIN).setQuota("thr-quota", quota).responseCode == \
        t.ResponseCode.OK
    with rest(thrift_daemon) as http:
        shown = http.get("/api/v1/quotas/thr-quota").json()["quota"]
    assert (shown["cpu"], shown["ram_mb"], shown["disk_mb"]) == (4.0, 2048, 4096)
    gpus = t.ResourceAggregate(resources={t.Resource(numGpus=1)})
    refused = apache_client(token=ADMIN).setQuota("thr-quota", gpus)
    assert refused.responseCode == t.ResponseCode.INVALID_REQUEST


def test_maintenance_cycle(thrift_daemon: Daemon, apache_api: ModuleType,
                           apache_client: Any) -> None:
    t = apache_api.ttypes
    admin, hosts = apache_client(token=ADMIN), t.Hosts(hostNames={HOST})
    modes = t.MaintenanceMode._VALUES_TO_NAMES

    def rest_mode() -> str:
        with rest(thrift_daemon) as http:
            mode: str = http.get("/api/v1/maintenance", params={"hosts": HOST}) \
                .json()["hosts"][0]["mode"]
        return mode

    assert apache_client(token=ALICE).startMaintenance(hosts).responseCode == \
        t.ResponseCode.AUTH_FAILED
    started = admin.startMaintenance(hosts).result.startMaintenanceResult.statuses
    assert [(s.host, modes[s.mode]) for s in started] == [(HOST, "SCHEDULED")]
    assert rest_mode() == "SCHEDULED"
    drained = admin.drainHosts(hosts).result.drainHostsResult.statuses
    assert [modes[s.mode] for s in drained] == [rest_mode()]
    status = apache_client(token=ALICE).maintenanceStatus(hosts)
    assert [modes[s.mode] for s in status.result.maintenanceStatusResult.statuses] == \
        [rest_mode()]
    count = t.SlaPolicy(countSlaPolicy=t.CountSlaPolicy(count=1, durationSecs=1))
    assert admin.slaDrainHosts(hosts, count, 10).responseCode == t.ResponseCode.INVALID_REQUEST
    ended = admin.endMaintenance(hosts).result.endMaintenanceResult.statuses
    assert [modes[s.mode] for s in ended] == ["NONE"] == [rest_mode()]


def test_backup_list_and_staged_recovery(thrift_daemon: Daemon, apache_api: ModuleType,
                                         apache_client: Any) -> None:
    t = apache_api.ttypes
    admin = apache_client(token=ADMIN)
    assert apache_client(token=ALICE).performBackup().responseCode == \
        t.ResponseCode.AUTH_FAILED
    assert admin.performBackup().responseCode == t.ResponseCode.OK
    listed = admin.listBackups().result.listBackupsResult.backups
    with rest(thrift_daemon) as http:
        ids = {b["backup_id"] for b in http.get("/api/v1/admin/backups").json()["backups"]}
    assert set(listed) == ids and ids
    assert admin.stageRecovery(sorted(ids)[-1]).responseCode == t.ResponseCode.OK
    queried = admin.queryRecovery(t.TaskQuery(role="no-such-role"))
    assert queried.responseCode == t.ResponseCode.OK
    assert queried.result.queryRecoveryResult.tasks == set()
    assert admin.unloadRecovery().responseCode == t.ResponseCode.OK
    assert admin.snapshot().responseCode == t.ResponseCode.OK
