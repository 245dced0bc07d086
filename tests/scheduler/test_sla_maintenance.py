"""SLA-aware maintenance against the real daemon (two local agents, the default SLA from 2
instances on): which hosts are safe to take down (``sla_list_safe_domain``,
``sla_probe_hosts``, ``aurora-admin sla-probe-hosts``), an SLA drain that keeps a
production job's default SLA while a non-production job goes at once, and a drain held by
an unreachable coordinator that is forced after its timeout."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora_provider.api import InvalidRequest
from aurora_provider.cli import admin
from aurora_provider.cli.aurora_admin import main as aurora_admin
from tests.daemon import Daemon, free_port
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration
PROD = ", production=True"


@pytest.fixture(scope="module")
def sla_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("sla-maintenance")
    d = Daemon(root / "work", root / "home",
               ["--local-agents", "2", "--min-required-instances-for-sla-check", "2"])
    d.start()
    with d.client() as c:
        c.set_quota("www", 1, 1024, 1024)  # production jobs need quota
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


@pytest.fixture
def cli(sla_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Daemon:
    sla_daemon.as_devcluster(tmp_path, monkeypatch)
    return sla_daemon


def run(capsys: pytest.CaptureFixture[str], main: object, *argv: str) -> tuple[int, str]:
    code = main(list(argv))  # type: ignore[operator]
    out, err = capsys.readouterr()
    assert code == 0, err
    return code, out


def _create(d: Daemon, tmp_path: Path, name: str, instances: int, extra: str) -> str:
    key = f"devcluster/www/test/{name}"
    with d.client() as c:
        c.create_job(job_wire(tmp_path, name, "sleep 600", service=True, instances=instances,
                              extra=extra))
    return key


def _running(d: Daemon, key: str) -> dict[int, str]:
    """RUNNING instances and their hosts."""
    with d.client() as c:
        return {t.instance: t.host or "" for t in c.job_status(key).active
                if t.status == "RUNNING"}


def test_safe_domain_and_probes(cli: Daemon, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    key = _create(cli, tmp_path, "spread", 4, PROD + ", constraints={'host': 'limit:2'}")
    hosts = eventually(lambda: len(r := _running(cli, key)) == 4 and r, what="4 RUNNING")
    assert sorted(hosts.values()) == ["localhost-0"] * 2 + ["localhost-1"] * 2
    job = "devcluster/www/test/spread"
    probe = ("sla_probe_hosts", "--hosts=localhost-0", "--min_job_instance_count=2",
             "devcluster")
    # Half the instances stay up if a host goes: enough for 50%, not for 75%.
    assert run(capsys, aurora_admin, *probe, "50", "0s")[1] == \
        f"localhost-0\t{job}\t50.00\tTrue\t0\n"
    assert run(capsys, aurora_admin, *probe, "75", "0s")[1] == \
        f"localhost-0\t{job}\t50.00\tFalse\tn/a\n"
    # Nobody has been up for an hour: safe once the oldest survivor has.
    out = run(capsys, aurora_admin, *probe, "50", "1h")[1]
    match = re.fullmatch(rf"localhost-0\t{job}\t0\.00\tFalse\t(\d+)\n", out)
    assert match and 3500 < int(match.group(1)) <= 3600, out
    assert run(capsys, aurora_admin, "sla_probe_hosts", "--hosts=localhost-0", "devcluster",
               "50", "0s")[1] == ""  # 4 instances: below the default 10, not counted
    assert run(capsys, admin.main, "sla-probe-hosts", "devcluster", "50", "0s", "localhost-1",
               "--min-job-instance-count", "2")[1] == f"localhost-1\t{job}\t50.00\tTrue\t0\n"

    safe = ("sla_list_safe_domain", "--min_job_instance_count=2", "devcluster")
    assert run(capsys, aurora_admin, *safe, "50", "0s")[1] == "localhost-0\nlocalhost-1\n"
    assert run(capsys, aurora_admin, *safe, "-x", "localhost-1", "--list_jobs", "50",
               "0s")[1] == f"localhost-0\t{job}\t50.00\t0\n"
    overrides = tmp_path / "overrides"
    overrides.write_text(f"{job} 75 0s\n")
    assert run(capsys, aurora_admin, *safe, f"--override_file={overrides}", "50",
               "0s")[1] == ""
    with cli.client() as c:
        c.killall(key)


def test_sla_drain_keeps_the_default_sla_of_production_jobs(
        cli: Daemon, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prod = _create(cli, tmp_path, "drained", 4, PROD)
    dev = _create(cli, tmp_path, "dev", 2, "")
    eventually(lambda: len(_running(cli, prod)) == 4 and len(_running(cli, dev)) == 2,
               what="all RUNNING")
    assert set(_running(cli, prod).values()) == {"localhost-0"}  # first fit
    _, out = run(capsys, aurora_admin, "sla_host_drain", "--hosts=localhost-0",
                 "--default_percentage=50", "--default_duration=0s", "devcluster")
    # Two go at once, the others wait for replacements to be up.
    assert out.splitlines() == [
        "localhost-0: DRAINING (6 active task(s), SLA-aware: by default 50% up for 0s)",
        *(f"  www/test/drained/{i} held by SLA: 1 of 4 instances would remain RUNNING for "
          "0s, policy needs 2" for i in (2, 3))], out
    assert not _running(cli, dev), "a non-production job without a policy goes at once"
    fewest = 4
    with cli.client() as c:
        while c.host_status(["localhost-0"]).hosts[0].mode != "DRAINED":
            fewest = min(fewest, len(_running(cli, prod)))
            time.sleep(0.05)  # sampling a live drain: nothing to wait for but the next one
    assert fewest >= 2, f"only {fewest} instance(s) RUNNING during the drain"
    assert set(eventually(lambda: len(r := _running(cli, prod)) == 4 and r,
                          what="moved").values()) == {"localhost-1"}
    with cli.client() as c:
        # A drain is platform downtime (Aurora's DOWN): the job's uptime fell below 100%.
        metrics = c.metrics()
        uptime = re.search(r"^sla_www_test_drained_platform_uptime_percent (\S+)$", metrics,
                           re.M)
        assert uptime and float(uptime.group(1)) < 100, metrics
        c.end_maintenance(["localhost-0"])
        c.killall(prod)
        c.killall(dev)


def test_an_sla_drain_is_forced_after_its_timeout(sla_daemon: Daemon,
                                                  tmp_path: Path) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/sla"  # a coordinator that is not there
    key = _create(sla_daemon, tmp_path, "coordinated", 1,
                  f", sla_policy=CoordinatorSlaPolicy(coordinator_url={nobody!r})")
    host = eventually(lambda: _running(sla_daemon, key).get(0), what="RUNNING")
    with sla_daemon.client() as c:
        with pytest.raises(InvalidRequest, match="percentage"):
            c.sla_drain_hosts([host], percentage=0)
        status = c.sla_drain_hosts([host], timeout_secs=2).hosts[0]
        assert status.mode == "DRAINING" and status.force_drain_at is not None
        assert status.sla_holds == [
            f"www/test/coordinated/0 held by SLA: asking coordinator {nobody}"]
        held = eventually(lambda: "unreachable" in " ".join(
            h := c.host_status([host]).hosts[0].sla_holds) and h, what="refused")
        assert held[0].startswith(f"www/test/coordinated/0 held by SLA: coordinator {nobody} "
                                  "unreachable"), held
        assert _running(sla_daemon, key).get(0) == host  # still up: held
        eventually(lambda: c.host_status([host]).hosts[0].mode == "DRAINED", what="forced")
        assert eventually(lambda: _running(sla_daemon, key).get(0), what="moved") != host
        c.end_maintenance([host])
        c.killall(key)
