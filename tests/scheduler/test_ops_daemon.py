"""Cron, quotas, maintenance, backups and ``aurora-admin`` against the real daemon (two local
agents, so a drain has somewhere to move tasks), through the CLIs' ``main(argv)``."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from aurora_provider.api import ApiError, AsyncSchedulerClient
from aurora_provider.cli import admin
from aurora_provider.cli.aurora import main as aurora
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

CRON = textwrap.dedent("""
    proc = Process(name='main', cmdline='echo ran', min_duration=0)
    task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
    jobs = [Job(cluster='devcluster', role='www', environment='test', name='nightly',
                task=task, instances=2, cron_schedule='0 3 * * *',
                cron_collision_policy='CANCEL_NEW')]
""")


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(entry: Callable[[list[str]], int], *argv: str) -> tuple[int, str, str]:
        code = entry(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_cron_schedule_start_show_runs_deschedule(cli: Daemon, run: Run,
                                                 tmp_path: Path) -> None:
    config = tmp_path / "nightly.aurora"
    config.write_text(CRON)
    key = "devcluster/www/test/nightly"
    code, out, err = run(aurora, "cron", "schedule", key, str(config))
    assert code == 0, err
    assert "0 3 * * * (UTC), collision policy CANCEL_NEW, 2 instance(s)" in out
    assert "next runs: " in out and "T03:00:00Z" in out and "never ran" in out
    code, out, err = run(aurora, "job", "create", key, str(config))
    assert code == 1 and "aurora cron schedule" in err
    code, out, err = run(aurora, "cron", "start", key)
    assert code == 0 and "run 1: RUNNING, started by hand" in out, err
    with cli.client() as c:
        done = eventually(lambda: (r := c.cron_runs(key).runs) and r[0].outcome and r[0],
                        what="the cron run to finish")
        assert done.outcome == "FINISHED" and len(done.task_ids) == 2
        assert done.key == key and done.finished_at is not None
    code, out, _ = run(aurora, "cron", "show", key, "--json")
    shown = json.loads(out)
    assert shown["last_run"]["outcome"] == "FINISHED" and len(shown["next_runs"]) == 5
    code, out, _ = run(aurora, "cron", "runs", key)
    assert code == 0 and "run 1: DONE FINISHED" in out

    async def history() -> str | None:
        async with AsyncSchedulerClient(cli.url, token=cli.token()) as c:
            return (await c.cron_runs(key, limit=1)).runs[0].outcome

    assert asyncio.run(history()) == "FINISHED"
    code, out, _ = run(aurora, "cron", "deschedule", key)
    assert code == 0 and "descheduled" in out
    code, _, err = run(aurora, "cron", "show", key)
    assert code == 1 and "no cron job devcluster/www/test/nightly is scheduled" in err
    bad = tmp_path / "bad.aurora"
    bad.write_text(CRON.replace("CANCEL_NEW", "RUN_OVERLAP"))
    code, _, err = run(aurora, "cron", "schedule", key, str(bad))
    assert code == 1 and "'RUN_OVERLAP' is not a policy" in err  # refused by the client


def test_quotas_through_aurora_admin_and_refusals(cli: Daemon, run: Run,
                                                  tmp_path: Path) -> None:
    code, out, err = run(admin.main, "set-quota", "devcluster", "prodrole", "0.01", "64MB",
                         "1GB")
    assert code == 0, err
    assert "quota CPU 0.01, RAM 0.0625 GB, disk 1 GB" in out
    wire = job_wire(tmp_path, "prodjob", "sleep 600", role="prodrole", service=True,
                    instances=2, extra=", tier='preferred'")
    with cli.client() as c, pytest.raises(ApiError) as refused:
        c.create_job(wire)  # 2 x 0.01 cpu
    assert refused.value.status == 409 and refused.value.code == "QUOTA_EXCEEDED"
    assert "role 'prodrole'" in refused.value.message
    assert "cpu by 0.01 cores (quota 0.01, in use 0, requested 0.02)" in refused.value.message
    code, _, err = run(admin.main, "increase-quota", "devcluster", "prodrole", "1", "0MB",
                       "0GB")
    assert code == 0, err
    with cli.client() as c:
        c.create_job(wire)
        with pytest.raises(ApiError, match=r"role 'prodrole': ram by 192 MB"):
            c.add_instances("devcluster/prodrole/test/prodjob", 0, 30)  # 32 x 8 MB
    code, out, _ = run(aurora, "quota", "get", "devcluster/prodrole")
    assert code == 0
    assert "CPU: 1.01, RAM: 0.0625 GB, Disk: 1 GB" in out  # allocated
    assert "CPU: 0.02, RAM: 0.015625 GB" in out  # consumed by the two instances
    code, _, err = run(admin.main, "set-quota", "devcluster", "prodrole", "1", "64", "1GB")
    assert code == 1 and "ram '64': expected a size with a unit" in err
    with cli.client() as c:
        c.killall("devcluster/prodrole/test/prodjob")


def test_drain_moves_tasks_to_the_other_agent(cli: Daemon, run: Run, tmp_path: Path) -> None:
    key = "devcluster/www/test/drained"
    with cli.client() as c:
        c.create_job(job_wire(tmp_path, "drained", "sleep 600", service=True, instances=2))

        def hosts() -> set[str] | None:
            tasks = c.job_status(key).active
            ok = len(tasks) == 2 and all(t.status == "RUNNING" for t in tasks)
            return {t.host or "" for t in tasks} if ok else None

        assert eventually(hosts, what="2 RUNNING") == {"localhost-0"}  # first fit
        code, out, err = run(admin.main, "host-deactivate", "devcluster", "localhost-1")
        assert code == 0 and "localhost-1: SCHEDULED" in out, err
        code, out, err = run(admin.main, "host-activate", "devcluster", "localhost-1")
        assert code == 0 and "localhost-1: NONE" in out, err
        code, out, err = run(admin.main, "host-drain", "devcluster", "localhost-0",
                             "--percentage", "50")
        assert code == 0 and "localhost-0: DRAINING" in out, err
        assert eventually(lambda: hosts() == {"localhost-1"} or None, what="moved")
        assert eventually(lambda: c.host_status(["localhost-0"]).hosts[0].mode == "DRAINED",
                        what="DRAINED")
        events = [e.status for t in c.job_status(key).terminal for e in t.events]
        assert events.count("DRAINING") == 2
        code, out, _ = run(admin.main, "host-status", "devcluster", "localhost-0")
        assert code == 0 and "localhost-0: DRAINED (0 active task(s))" in out
        code, out, _ = run(admin.main, "end-maintenance", "devcluster", "localhost-0")
        assert code == 0 and "localhost-0: NONE" in out
        c.killall(key)


def test_admin_housekeeping_backup_and_restore(cli: Daemon, run: Run, tmp_path: Path,
                                               make_daemon: Callable[..., Daemon]) -> None:
    with cli.client() as c:
        c.set_quota("restored", 2, 2048, 2048)
        c.schedule_cron(job_wire(tmp_path, "kept", "echo", extra=", cron_schedule='0 * * * *'"))
    code, out, err = run(admin.main, "reconcile-tasks", "devcluster")
    assert code == 0 and out.startswith("reconciled "), err
    code, out, err = run(admin.main, "prune-tasks", "devcluster", "--states", "RUNNING")
    assert code == 1 and "only terminal tasks can be pruned" in err
    code, out, err = run(admin.main, "prune-tasks", "devcluster", "--role", "nobody")
    assert code == 0 and "pruned 0 terminal task(s)" in out, err
    code, out, err = run(admin.main, "scheduler-backup-now", "devcluster")
    assert code == 0 and "(sqlite," in out, err
    backup_id = out.split()[1]
    code, out, _ = run(admin.main, "scheduler-list-backups", "devcluster")
    assert backup_id in out

    async def async_reads() -> tuple[float, list[str], list[str]]:
        async with AsyncSchedulerClient(cli.url, token=cli.token()) as c:
            quota = await c.get_quota("restored")
            hosts = await c.host_status(["localhost-0", "localhost-1"])
            backups = await c.list_backups()
            return (quota.quota.cpu, [h.mode for h in hosts.hosts],
                    [b.backup_id for b in backups.backups])

    cpu, modes, ids = asyncio.run(async_reads())
    assert cpu == 2 and modes == ["NONE", "NONE"] and backup_id in ids
    target = tmp_path / "restored"
    code, out, err = run(admin.main, "scheduler-restore", "devcluster", backup_id,
                         "--work-dir", str(target))
    assert code == 0 and str(target / "scheduler.db") in out, err
    code, _, err = run(admin.main, "scheduler-restore", "devcluster", backup_id,
                       "--work-dir", str(target))
    assert code == 1 and "not empty" in err
    code, _, err = run(admin.main, "scheduler-restore", "devcluster", "nope", "--work-dir",
                       str(tmp_path / "x"))
    assert code == 1 and "malformed" in err
    restored = make_daemon(name="restored")  # its work dir is tmp_path / "restored"
    with restored.client() as c:
        assert c.get_quota("restored").quota.cpu == 2
        assert c.cron_job("devcluster/www/test/kept").schedule == "0 * * * *"
    with cli.client() as c:
        c.deschedule_cron("devcluster/www/test/kept")


def test_admin_routes_are_admin_only(make_daemon: Callable[..., Daemon],
                                     tmp_path: Path) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"tokens": {
        "admin-t": {"user": "root", "roles": [], "admin": True},
        "alice-t": {"user": "alice", "roles": ["www"]}}}))
    d = make_daemon("--auth-file", str(auth), name="secured")

    def call(method: str, path: str, token: str, body: object = None) -> httpx.Response:
        return httpx.request(method, d.url + path, json=body, timeout=10,
                             headers={"Authorization": f"Bearer {token}"})

    quota = {"cpu": 1, "ram_mb": 1, "disk_mb": 1}
    for method, path, body in (
            ("PUT", "/api/v1/quotas/www", quota), ("POST", "/api/v1/quotas/www/increase", quota),
            ("POST", "/api/v1/maintenance/drain", {"hosts": ["h"]}),
            ("POST", "/api/v1/admin/backups", None), ("GET", "/api/v1/admin/backups", None),
            ("POST", "/api/v1/admin/prune", {}), ("POST", "/api/v1/admin/reconcile", None)):
        response = call(method, path, "alice-t", body)
        assert response.status_code == 403, path
        assert response.json()["code"] == "FORBIDDEN" and "admin only" in \
            response.json()["message"]
    assert call("GET", "/api/v1/quotas/www", "alice-t").status_code == 200
    assert call("GET", "/api/v1/maintenance", "alice-t").json() == {"hosts": []}
    assert call("PUT", "/api/v1/quotas/www", "admin-t", quota).status_code == 200
    bad = call("PUT", "/api/v1/quotas/www", "admin-t", {"cpu": -1, "ram_mb": 1, "disk_mb": 1})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_REQUEST"
    bad = call("POST", "/api/v1/maintenance/drain", "admin-t", {"hosts": ["h"],
                                                                "percentage": 150})
    assert bad.status_code == 400
    missing = call("GET", "/api/v1/cron/www/test/none", "alice-t")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


def test_preemption_on_the_real_daemon(make_daemon: Callable[..., Daemon],
                                       tmp_path: Path) -> None:
    # Room for one task (0.01 cpu + 0.05 executor overhead) and a zero preemption delay.
    d = make_daemon("--local-cpu", "0.07", "--preemption-delay", "0", name="tight")
    with d.client() as c:
        c.create_job(job_wire(tmp_path, "filler", "sleep 600", role="batch", service=True))
        eventually(lambda: [t.status for t in c.job_status("devcluster/batch/test/filler").active]
                 == ["RUNNING"], what="the filler RUNNING")
        c.set_quota("www", 1, 1024, 1024)
        c.create_job(job_wire(tmp_path, "vip", "sleep 600", service=True,
                              extra=", tier='preferred'"))
        eventually(lambda: [t.status for t in c.job_status("devcluster/www/test/vip").active]
                 == ["RUNNING"], what="the preferred task RUNNING")
        filler = c.job_status("devcluster/batch/test/filler")
        (victim,) = filler.terminal
        assert [e.status for e in victim.events][-2:] == ["PREEMPTING", "KILLED"]
        assert "Preempting in favor of www-test-vip-0-" in (victim.events[-2].message or "")
        assert [t.status for t in filler.active] in (["PENDING"], ["THROTTLED"])
