"""``--tier-config``: Aurora's tiers.json read at start-up, used by admission, quota and
preemption on the real daemon; a bad file stops the start with one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aurora_provider.api import ApiError
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

# ``batch`` is the preemptible default; ``critical`` is the one production tier.
CUSTOM = {"default": "batch", "tiers": {
    "critical": {"preemptible": False, "revocable": False},
    "batch": {"preemptible": True, "revocable": False}}}


def test_custom_tiers_admit_preempt_and_refuse(make_daemon: Callable[..., Daemon],
                                               tmp_path: Path) -> None:
    tiers = tmp_path / "tiers.json"
    tiers.write_text(json.dumps(CUSTOM))
    # Room for one task (0.01 cpu + 0.05 executor overhead), preemption at once.
    d = make_daemon("--tier-config", str(tiers), "--local-cpu", "0.07",
                    "--preemption-delay", "0", name="tiers")
    with d.client() as c:
        c.create_job(job_wire(tmp_path, "filler", "sleep 600", role="batch", service=True,
                              extra=", tier='batch'"))
        eventually(lambda: [t.status for t in c.job_status("devcluster/batch/test/filler")
                            .active] == ["RUNNING"], what="the batch task RUNNING")
        for tier, expected in (("preferred", "tier 'preferred' is not one of batch, critical"),
                               (None, "production=True means tier 'preferred'")):
            extra = f", tier={tier!r}" if tier else ", production=True"
            with pytest.raises(ApiError) as refused:
                c.create_job(job_wire(tmp_path, "unknown", "sleep 600", extra=extra))
            assert expected in str(refused.value)
        c.set_quota("www", 1, 1024, 1024)
        c.create_job(job_wire(tmp_path, "vip", "sleep 600", service=True,
                              extra=", tier='critical'"))
        eventually(lambda: [t.status for t in c.job_status("devcluster/www/test/vip").active]
                   == ["RUNNING"], what="the critical task RUNNING")
        (victim,) = c.job_status("devcluster/batch/test/filler").terminal
        assert [e.status for e in victim.events][-2:] == ["PREEMPTING", "KILLED"]
        # The critical tier is production: it consumes the role's quota.
        assert c.get_quota("www").production.cpu > 0


@pytest.mark.parametrize(("content", "says"), [
    ("{not json", "not JSON"),
    (json.dumps({"default": "gold", "tiers": CUSTOM["tiers"]}),
     "default tier 'gold' is not one of batch, critical"),
    (json.dumps({"default": "batch", "tiers": {"batch": {"preemptible": True,
                                                          "cheap": True}}}),
     "tier 'batch': unknown key 'cheap'"),
    (json.dumps({"default": "batch", "tiers": {"batch": {"preemptible": "yes"}}}),
     "tier 'batch': 'preemptible' must be true or false, not \"yes\""),
])
def test_bad_tier_file_stops_the_start_in_one_line(tmp_path: Path, content: str,
                                                   says: str) -> None:
    bad = tmp_path / "tiers.json"
    bad.write_text(content)
    daemon = Daemon(tmp_path / "work", tmp_path / "home", ["--tier-config", str(bad)])
    code, lines = daemon.refused_start()
    assert code == 1
    assert lines == [lines[0]] and lines[0].startswith(f"aurora-scheduler: --tier-config {bad}")
    assert says in lines[0]
