"""Job updates over Thrift (Apache's client, TJSON; thriftpy2's, TBinary), each step
compared with what the REST API says of the same update: one controller, two faces."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.api.thrift.conftest import ADMIN, ALICE, BOB, rest
from tests.api.thrift.test_thrift_reads import aurora_client_job, wire_of
from tests.daemon import Daemon

pytestmark = pytest.mark.integration


def _settings(t: Any, **changes: Any) -> Any:
    """What Aurora 0.22's client sends for UpdateConfig(batch_size=1, watch_secs=30,
    pulse_interval_secs=60)."""
    values = dict(updateGroupSize=1, maxPerInstanceFailures=0, maxFailedInstances=0,
                  minWaitInInstanceRunningMs=30_000, rollbackOnFailure=True,
                  waitForBatchCompletion=False, blockIfNoPulsesAfterMs=60_000,
                  updateStrategy=t.JobUpdateStrategy(
                      queueStrategy=t.QueueJobUpdateStrategy(groupSize=1)))
    values.update(changes)
    return t.JobUpdateSettings(**values)


def _running_job(http: httpx.Client, tmp_path: Path, name: str) -> None:
    wire = wire_of(tmp_path, name, tail="sleep 600", service=True)
    http.post("/api/v1/jobs", json={"job": wire}).raise_for_status()


def _request(t: Any, tmp_path: Path, name: str, **settings: Any) -> Any:
    new = aurora_client_job(t, wire_of(tmp_path, name, tail="sleep 601", service=True))
    return t.JobUpdateRequest(taskConfig=new.taskConfig, instanceCount=2,
                              settings=_settings(t, **settings))


def _rest_update(http: httpx.Client, name: str, update_id: str) -> dict[str, Any]:
    found: dict[str, Any] = http.get(f"/api/v1/updates/www/test/{name}/{update_id}") \
        .raise_for_status().json()
    return found


def _kill(http: httpx.Client, name: str) -> None:
    http.post(f"/api/v1/jobs/www/test/{name}/kill", json={}).raise_for_status()


def test_a_pulsed_update_paused_resumed_and_rolled_back(
        thrift_daemon: Daemon, apache_api: ModuleType, apache_client: Any,
        binary_client: Any, tmp_path: Path) -> None:
    t, name = apache_api.ttypes, "thr-upd"
    ok, names = t.ResponseCode.OK, t.JobUpdateStatus._VALUES_TO_NAMES
    with rest(thrift_daemon) as http:
        _running_job(http, tmp_path, name)
        alice = apache_client(token=ALICE)
        started = alice.startJobUpdate(_request(t, tmp_path, name), "via thrift")
        assert started.responseCode == ok, started.details
        key = started.result.startJobUpdateResult.key
        assert (key.job.role, key.job.environment, key.job.name) == ("www", "test", name)
        seen = _rest_update(http, name, key.id)
        assert seen["status"] == "ROLL_FORWARD_AWAITING_PULSE"
        assert (seen["settings"]["pulse_interval_secs"], seen["settings"]["watch_secs"],
                seen["settings"]["batch_size"], seen["user"]) == (60, 30, 1, "alice")
        assert names[started.result.startJobUpdateResult.updateSummary.state.status] == \
            seen["status"]

        # A pulse unblocks it: OK while it goes on, as Aurora's JobUpdatePulseStatus says.
        pulsed = alice.pulseJobUpdate(key)
        assert pulsed.responseCode == ok, pulsed.details
        assert pulsed.result.pulseJobUpdateResult.status == t.JobUpdatePulseStatus.OK
        assert _rest_update(http, name, key.id)["status"] == "ROLLING_FORWARD"

        # Another role may not steer it.
        refused = apache_client(token=BOB).pauseJobUpdate(key, "not mine")
        assert refused.responseCode == t.ResponseCode.AUTH_FAILED
        assert "may not change jobs of role 'www'" in refused.details[0].message

        assert alice.pauseJobUpdate(key, "hold on").responseCode == ok
        assert _rest_update(http, name, key.id)["status"] == "ROLL_FORWARD_PAUSED"
        # The TBinary client reads the same state through getJobUpdateSummaries.
        binary = binary_client(token=ALICE)
        b = binary.getJobUpdateSummaries(binary_query(key))
        assert b.responseCode == ok
        (summary,) = b.result.getJobUpdateSummariesResult.updateSummaries
        assert (summary.key.id, names[summary.state.status]) == (key.id, "ROLL_FORWARD_PAUSED")

        assert alice.resumeJobUpdate(key, "go on").responseCode == ok
        assert _rest_update(http, name, key.id)["status"] in (
            "ROLLING_FORWARD", "ROLL_FORWARD_AWAITING_PULSE")
        assert alice.rollbackJobUpdate(key, "back").responseCode == ok
        rolled = _rest_update(http, name, key.id)
        assert rolled["status"] == "ROLLING_BACK"

        # The details: the same events as REST's, the settings as sent, the instructions.
        d = alice.getJobUpdateDetails(key, None)
        assert d.responseCode == ok, d.details
        details = d.result.getJobUpdateDetailsResult.details
        assert [names[e.status] for e in details.updateEvents] == \
            [e["status"] for e in rolled["events"]]
        assert [e.message for e in details.updateEvents] == \
            [e["message"] for e in rolled["events"]]
        settings = details.update.instructions.settings
        assert (settings.blockIfNoPulsesAfterMs, settings.minWaitInInstanceRunningMs,
                settings.updateStrategy.queueStrategy.groupSize) == (60_000, 30_000, 1)
        desired = details.update.instructions.desiredState
        assert [(r.first, r.last) for r in desired.instances] == [(0, 1)]
        assert "sleep 601" in desired.task.executorConfig.data

        assert alice.abortJobUpdate(key, "done").responseCode == ok
        assert _rest_update(http, name, key.id)["status"] == "ABORTED"
        # An ended update is FINISHED to a pulse.
        after = alice.pulseJobUpdate(key)
        assert after.result.pulseJobUpdateResult.status == t.JobUpdatePulseStatus.FINISHED
        _kill(http, name)


def binary_query(key: Any) -> Any:
    """The thriftpy2 JobUpdateQuery of an Apache-client update key."""
    from aurora_provider.framework.thrift.idl import api

    a = api()
    return a.JobUpdateQuery(key=a.JobUpdateKey(
        job=a.JobKey(role=key.job.role, environment=key.job.environment, name=key.job.name),
        id=key.id))


def test_settings_we_cannot_keep_are_refused_in_one_line(
        thrift_daemon: Daemon, apache_api: ModuleType, apache_client: Any,
        tmp_path: Path) -> None:
    t, name = apache_api.ttypes, "thr-upd-bad"
    alice = apache_client(token=ALICE)
    odd = alice.startJobUpdate(_request(t, tmp_path, name, minWaitInInstanceRunningMs=1500),
                               None)
    assert odd.responseCode == t.ResponseCode.INVALID_REQUEST
    assert [d.message for d in odd.details] == [
        "settings.minWaitInInstanceRunningMs: 1500 ms is not a whole number of seconds, "
        "which is what this scheduler keeps; round it to a multiple of 1000"]
    request = _request(t, tmp_path, name)
    request.metadata = {t.Metadata(key="k", value="v")}
    meta = alice.startJobUpdate(request, None)
    assert meta.responseCode == t.ResponseCode.INVALID_REQUEST
    assert meta.details[0].message.startswith("request.metadata:")
    # The loader's rules apply as to a .aurora file: a pulse interval under 60 s.
    short = alice.startJobUpdate(_request(t, tmp_path, name, blockIfNoPulsesAfterMs=1000),
                                 None)
    assert short.responseCode == t.ResponseCode.INVALID_REQUEST
    assert "pulse_interval_secs" in short.details[0].message


def test_diff_and_summaries_match_rest(thrift_daemon: Daemon, apache_api: ModuleType,
                                       apache_client: Any, tmp_path: Path) -> None:
    t, name = apache_api.ttypes, "thr-upd-diff"
    with rest(thrift_daemon, ADMIN) as http:
        _running_job(http, tmp_path, name)
        alice = apache_client(token=ALICE)
        request = _request(t, tmp_path, name)
        diff = alice.getJobUpdateDiff(request)
        assert diff.responseCode == t.ResponseCode.OK, diff.details
        d = diff.result.getJobUpdateDiffResult
        new_wire = wire_of(tmp_path, name, tail="sleep 601", service=True)
        expected = http.post(f"/api/v1/jobs/www/test/{name}/diff", json={"job": new_wire}) \
            .raise_for_status().json()

        def instances(groups: Any) -> list[int]:
            return sorted(i for g in groups for r in g.instances
                          for i in range(r.first, r.last + 1))

        assert (instances(d.add), instances(d.update), instances(d.remove),
                instances(d.unchanged)) == (expected["add"], expected["update"],
                                            expected["remove"], expected["unchanged"])
        assert (instances(d.add), instances(d.update)) == ([], [0, 1])

        started = alice.startJobUpdate(request, None)
        assert started.responseCode == t.ResponseCode.OK, started.details
        key = started.result.startJobUpdateResult.key
        found = alice.getJobUpdateSummaries(t.JobUpdateQuery(role="www", user="alice"))
        ids = [s.key.id for s in found.result.getJobUpdateSummariesResult.updateSummaries]
        listed = http.get("/api/v1/updates", params={"role": "www"}).json()["updates"]
        assert ids == [u["update_id"] for u in listed if u["user"] == "alice"]
        assert key.id in ids
        assert alice.abortJobUpdate(key, None).responseCode == t.ResponseCode.OK
        _kill(http, name)
