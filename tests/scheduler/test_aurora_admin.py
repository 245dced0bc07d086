"""``aurora_admin``: Aurora's admin verbs and flags, typed as Aurora's scripts type them,
against the real daemon (two local agents) through the CLI's ``main(argv)``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aurora_provider.cli.aurora_admin import main as aurora_admin
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = aurora_admin(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_quota_maintenance_and_housekeeping_verbs(cli: Daemon, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "set_quota", "devcluster", "www", "4", "8GB", "16GB")
    assert code == 0 and "role www: quota CPU 4, RAM 8 GB, disk 16 GB" in out, err
    code, out, err = run(capsys, "increase_quota", "devcluster", "www", "1", "1GB", "1GB")
    assert code == 0 and "quota CPU 5, RAM 9 GB, disk 17 GB" in out, err
    # Options before or after the cluster, hosts from --hosts or from a file.
    code, out, err = run(capsys, "host_maintenance_start", "--hosts=localhost-1", "devcluster")
    assert code == 0 and "localhost-1: SCHEDULED" in out, err
    listed = tmp_path / "hosts.txt"
    listed.write_text("localhost-1\n\n")
    code, out, err = run(capsys, "host_status", "devcluster", f"--filename={listed}")
    assert code == 0 and "localhost-1: SCHEDULED" in out, err
    code, out, err = run(capsys, "host_activate", "devcluster", "--hosts", "localhost-1")
    assert code == 0 and "localhost-1: NONE" in out, err
    code, out, err = run(capsys, "host_deactivate", "devcluster", "--hosts=localhost-1")
    assert code == 0 and "localhost-1: SCHEDULED" in out, err
    assert run(capsys, "host_activate", "--hosts=localhost-1", "devcluster")[0] == 0
    code, out, err = run(capsys, "host_drain", "--hosts=localhost-1",
                         "--override_percentage=50", "--override_reason=rack swap",
                         "devcluster")
    assert code == 0 and "localhost-1: DRAINED (0 active task(s))" in out, err
    assert "SLA override on localhost-1: keep 50.0% running; reason: rack swap" in err
    assert run(capsys, "host_activate", "--hosts=localhost-1", "devcluster")[0] == 0
    code, out, err = run(capsys, "scheduler_backup_now", "devcluster")
    assert code == 0 and out.startswith("backup ") and " written (" in out, err
    code, out, err = run(capsys, "scheduler_list_backups", "devcluster")
    assert code == 0 and "bytes" in out, err
    code, out, err = run(capsys, "reconcile_tasks", "devcluster")
    assert code == 0 and out.startswith("reconciled "), err
    code, out, err = run(capsys, "prune_tasks", "--states=KILLED", "--role=www", "devcluster")
    assert code == 0 and "pruned " in out, err
    code, out, err = run(capsys, "scheduler_snapshot", "devcluster")
    assert code == 0 and "nothing to snapshot" in out


def test_query_lists_tasks_in_aurora_format(cli: Daemon, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with cli.client() as client:
        client.create_job(job_wire(tmp_path, "queried", "sleep 600", service=True,
                                   instances=2))
        eventually(lambda: client.job_summary("devcluster/www/test/queried").active
                   == {"RUNNING": 2}, what="2 RUNNING", timeout=30)
    code, out, err = run(capsys, "query", "devcluster", "www", "queried")
    assert code == 0, err
    assert out.splitlines() == ["www/queried/0 RUNNING", "www/queried/1 RUNNING"]
    code, out, err = run(capsys, "query", "--shards=1", "-l", "%taskId% %slaveHost%",
                         "devcluster", "www", "queried")
    assert code == 0 and len(out.splitlines()) == 1 and " localhost-" in out, err
    code, _, err = run(capsys, "query", "devcluster", "www")
    assert code == 1 and "--force is required for expensive queries (no job named)" in err
    code, _, err = run(capsys, "query", "--states=FINISHED", "devcluster", "www", "queried")
    assert code == 1 and "states outside the active ones" in err
    code, out, err = run(capsys, "query", "--force", "devcluster")
    assert code == 0 and "www/queried/0 RUNNING" in out, err
    code, _, err = run(capsys, "query", "--states=RUNNNG", "devcluster", "www", "queried")
    assert code == 1 and "unknown state(s) RUNNNG" in err
    code, _, err = run(capsys, "query", "-l", "%bogus%", "devcluster", "www", "queried")
    assert code == 1 and "unknown key(s) bogus" in err and "instanceId" in err
    with cli.client() as client:
        client.killall("devcluster/www/test/queried")


def test_cluster_verbs_and_refusals_are_one_line(cli: Daemon,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "get_scheduler", "devcluster")
    assert code == 0 and out.strip() == cli.url
    code, out, _ = run(capsys, "get_cluster_config", "devcluster")
    assert code == 0 and json.loads(out)["scheduler_uri"] == cli.url
    code, out, _ = run(capsys, "get_cluster_config", "--export", "devcluster")
    assert code == 0 and f"export SCHEDULER_URI={cli.url}" in out.splitlines()
    for argv, said in (
        (["scheduler_stage_recovery", "devcluster", "b-1"], "backup id 'b-1' is malformed"),
        (["scheduler_commit_recovery", "devcluster"], "no backup is staged for recovery"),
        (["sla_probe_hosts", "devcluster", "95", "30m"], "name the hosts with --hosts"),
        (["sla_probe_hosts", "--hosts=a", "devcluster", "101", "30m"], "percentage '101'"),
        (["sla_list_safe_domain", "devcluster", "95", "30x"], "duration '30x'"),
        (["sla_list_safe_domain", "--grouping=by_rack", "devcluster", "95", "1m"],
         "only by_host is supported"),
        (["sla_host_drain", "--hosts=a", "--force_drain_timeout=soon", "devcluster"],
         "--force_drain_timeout: duration 'soon'"),
        (["host_drain", "devcluster"], "name the hosts with --hosts"),
        (["host_drain", "--hosts=a", "--batch_size=2", "devcluster"],
         "--batch_size is not supported"),
        (["host_drain", "--hosts=a", "--grouping=by_rack", "devcluster"],
         "only by_host is supported"),
        (["reconcile_tasks", "--type=implicit", "devcluster"], "--type=implicit"),
        (["host_status", "--filename=/nonexistent/hosts", "devcluster"],
         "--filename /nonexistent/hosts: No such file"),
        (["get_scheduler", "nocluster"], "nocluster"),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 1 and said in err and len(err.strip().splitlines()) == 1, (argv, err)
