"""Aurora's SLA metrics on /metrics and /vars (the real daemon, a 3 s window): per job and
for the cluster, production jobs under Aurora's names and the others under ``_nonprod``,
computed once per window."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration
PERCENTILES = ("50_00", "75_00", "90_00", "95_00", "99_00")


@pytest.fixture(scope="module")
def metered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("sla-metrics")
    d = Daemon(root / "work", root / "home",
               ["--sla-stat-refresh-interval", "3", "--sla-non-prod-metrics"])
    d.start()
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


def _sla(d: Daemon) -> dict[str, float]:
    with d.client() as c:
        text = c.metrics()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(sla_\w+) (\S+)$", text, re.M)}


def test_sla_metrics_of_production_and_other_services(metered: Daemon,
                                                      tmp_path: Path) -> None:
    with metered.client() as c:
        c.set_quota("www", 1, 1024, 1024)
        for name, extra in (("metered", ", production=True"), ("casual", "")):
            c.create_job(job_wire(tmp_path, name, "sleep 600", service=True, extra=extra))
        for name in ("metered", "casual"):
            key = f"devcluster/www/test/{name}"
            eventually(lambda k=key: c.job_summary(k).active.get("RUNNING") == 1,
                       what=f"{name} RUNNING")
    # The first window: it saw both tasks assigned, started and RUNNING.
    first = eventually(lambda: "sla_www_test_casual_mttr_ms_nonprod" in (s := _sla(metered))
                       and s, timeout=15, what="SLA metrics")
    job = "sla_www_test_metered_"
    for stat in ("mtta_ms", "mtts_ms", "mttr_ms"):
        assert first[f"{job}{stat}"] > 0 and first[f"sla_cluster_{stat}"] > 0, stat
        assert first[f"sla_www_test_casual_{stat}_nonprod"] > 0, stat
    assert first[f"{job}mtta_ms"] < first[f"{job}mtts_ms"] < first[f"{job}mttr_ms"]
    # Started, then up: nothing the platform did took them down.
    assert first[f"{job}platform_uptime_percent"] == 100.0
    assert first["sla_cluster_platform_uptime_percent"] == 100.0
    uptimes = [first[f"{job}job_uptime_{p}_sec"] for p in PERCENTILES]
    assert all(u >= 0 for u in uptimes) and uptimes == sorted(uptimes, reverse=True), uptimes
    assert "sla_www_test_casual_mttr_ms" not in first  # not production: _nonprod only

    # The values stand for a window, then are computed again: the uptimes grow.
    later = eventually(lambda: (s := _sla(metered))[f"{job}job_uptime_50_00_sec"] >
                       first[f"{job}job_uptime_50_00_sec"] and s, timeout=15,
                       what="the next window")
    assert _sla(metered) == later  # a scrape within the window computes nothing
    with metered.client() as c:
        flat = c.vars_json().root
    assert flat[f"{job}job_uptime_50_00_sec"] == later[f"{job}job_uptime_50_00_sec"]
    with metered.client() as c:
        c.killall("devcluster/www/test/metered")
        c.killall("devcluster/www/test/casual")
