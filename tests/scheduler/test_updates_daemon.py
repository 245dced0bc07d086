"""Job updates through the real daemon: the HTTP API, the clients, the CLI, a kill -9.

Tasks are real runners (``sleep``); watch_secs is 1 second and the daemon's rounds are fast.
The controller's timing rules are covered with an injected clock in
``test_updates_controller.py``; here nothing is timed, we only wait for states.
"""

from __future__ import annotations

import asyncio
import json
import signal
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aurora_provider.api import ApiError, AsyncSchedulerClient, InvalidRequest, RetryPolicy
from aurora_provider.api import models as m
from aurora_provider.cli.aurora import main
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.scheduler.conftest import job_wire

pytestmark = pytest.mark.integration

CONFIG = textwrap.dedent("""
    proc = Process(name='main', cmdline='{{cmd}}', min_duration=0)
    task = Task(processes=[proc], resources=Resources(cpu=0.01, ram=8*MB, disk=8*MB))
    jobs = [Service(cluster='devcluster', role='www', environment='test', name='upd-cli',
                    task=task, instances='{{count}}',
                    update_config=UpdateConfig(batch_size=1, watch_secs='{{watch}}'))]
""")


def _wire(tmp_path: Path, name: str, cmd: str, *, instances: int = 2,
          **update: Any) -> dict[str, Any]:
    settings = {"batch_size": 1, "watch_secs": 1, **update}
    extra = f", update_config=UpdateConfig({', '.join(f'{k}={v!r}' for k, v in settings.items())})"
    return job_wire(tmp_path, name, cmd, service=True, instances=instances, extra=extra)


def _runs(d: Daemon, wire: dict[str, Any]) -> bool:
    """Every instance of the job is RUNNING this configuration (by the scheduler's diff)."""
    with d.client() as c:
        diff = c.diff(wire)
        active = c.job_status(f"devcluster/www/test/{wire['key']['name']}").active
    running = sorted(t.instance for t in active if t.status == "RUNNING")
    wanted = list(range(wire["instances"]))
    return diff.unchanged == wanted and running == wanted and len(active) == len(wanted)


def _ended(d: Daemon, key: str, update_id: str) -> m.UpdateDetails:
    def check() -> m.UpdateDetails | None:
        with d.client() as c:
            details = c.update_details(key, update_id)
        return None if details.active else details

    result: m.UpdateDetails = eventually(check, timeout=90, what=f"update {update_id} to end")
    return result


def _started(d: Daemon, wire: dict[str, Any]) -> str:
    key = f"devcluster/www/test/{wire['key']['name']}"
    with d.client() as c:
        c.create_job(wire)
    eventually(lambda: len(_running_ids(d, key)) == wire["instances"], what="RUNNING")
    return key


def _running_ids(d: Daemon, key: str) -> list[str]:
    with d.client() as c:
        return [t.task_id for t in c.job_status(key).active if t.status == "RUNNING"]


def test_update_rolls_forward_adding_an_instance(daemon: Daemon, tmp_path: Path) -> None:
    key = _started(daemon, _wire(tmp_path, "upd-ok", "sleep 600"))
    new = _wire(tmp_path, "upd-ok", "sleep 601", instances=3)
    with daemon.client() as c:
        started = c.start_update(new, "to 601")
        assert (started.replace, started.add, started.remove) == ([0, 1], [2], [])
        with pytest.raises(ApiError) as conflict:
            c.start_update(_wire(tmp_path, "upd-ok", "sleep 602"))
        assert conflict.value.status == 409
    done = _ended(daemon, key, started.update_id)
    assert done.status == "ROLLED_FORWARD"
    assert [e.status for e in done.events] == ["ROLLING_FORWARD", "ROLLED_FORWARD"]
    assert done.events[0].message == "to 601"
    updated = sorted(e.instance for e in done.instance_events if e.action == "INSTANCE_UPDATED")
    assert updated == [0, 1, 2]
    with daemon.client() as c:
        listed = c.list_updates(cluster="devcluster", role="www", name="upd-*",
                                status="succeeded")
        assert started.update_id in [u.update_id for u in listed.updates]
        assert not c.list_updates(name="upd-ok", status="active").updates
        c.killall(key)


def test_failing_update_rolls_back_or_fails(daemon: Daemon, tmp_path: Path) -> None:
    old = _wire(tmp_path, "upd-bad", "sleep 600")
    key = _started(daemon, old)
    with daemon.client() as c:
        # watch_secs 5: under load, a failing task's exit may follow RUNNING by > 1 s.
        update = c.start_update(_wire(tmp_path, "upd-bad", "exit 1", watch_secs=5))
    done = _ended(daemon, key, update.update_id)
    assert done.status == "ROLLED_BACK"
    actions = [(e.instance, e.action) for e in done.instance_events]
    assert (0, "INSTANCE_UPDATE_FAILED") in actions and (0, "INSTANCE_ROLLED_BACK") in actions
    eventually(lambda: _runs(daemon, old), what="the old configuration back")
    with daemon.client() as c:
        update = c.start_update(_wire(tmp_path, "upd-bad", "exit 1", watch_secs=5,
                                      rollback_on_failure=False))
    done = _ended(daemon, key, update.update_id)
    assert done.status == "FAILED"
    assert [e.status for e in done.events] == ["ROLLING_FORWARD", "FAILED"]
    with daemon.client() as c:
        c.killall(key)


def test_pause_resume_abort_and_autopause(daemon: Daemon, tmp_path: Path) -> None:
    key = _started(daemon, _wire(tmp_path, "upd-ctl", "sleep 600", instances=3))
    with daemon.client() as c:
        update = c.start_update(_wire(tmp_path, "upd-ctl", "sleep 601", instances=3))
        assert c.pause_update(key, "wait").status == "ROLL_FORWARD_PAUSED"
        with pytest.raises(ApiError) as twice:
            c.pause_update(key)
        assert twice.value.status == 409
        assert c.resume_update(key).status == "ROLLING_FORWARD"
        aborted = c.abort_update(key, "stop", update_id=update.update_id)
        assert aborted.status == "ABORTED" and not aborted.active
        with pytest.raises(ApiError) as none:
            c.resume_update(key)
        assert none.value.status == 409
        # Variable batches of 1 then 2, pausing after each batch.
        strategy = "VariableBatchUpdateStrategy(batch_sizes=[1, 2], autopause_after_batch=True)"
        new = job_wire(tmp_path, "upd-ctl", "sleep 602", service=True, instances=3,
                       extra=f", update_config=UpdateConfig(watch_secs=1, "
                             f"update_strategy={strategy})")
        update = c.start_update(new)
    eventually(lambda: daemon.client().update_details(key).status == "ROLL_FORWARD_PAUSED",
             what="the autopause")
    with daemon.client() as c:
        details = c.update_details(key)
        assert [p.state for p in details.progress].count("SUCCEEDED") == 1
        c.resume_update(key)
    assert _ended(daemon, key, update.update_id).status == "ROLLED_FORWARD"
    with daemon.client() as c:
        c.killall(key)


def test_pulsed_update_waits_for_pulses(daemon: Daemon, tmp_path: Path) -> None:
    key = _started(daemon, _wire(tmp_path, "upd-pulse", "sleep 600", instances=1))
    # Watched longer than the pulse interval: the update cannot end before it awaits a pulse
    # (rounds run as soon as there is work, so a short watch could). The pulse timing out is
    # the controller's test (tests/scheduler/test_updates_controller.py, its clock advanced).
    new = _wire(tmp_path, "upd-pulse", "sleep 601", instances=1, watch_secs=10,
                pulse_interval_secs=60)
    # Below the configuration's 60 s minimum, the API refuses it as the loader does.
    fast = json.loads(json.dumps(new))
    fast["update_config"]["pulse_interval_secs"] = 1
    with daemon.client() as c, pytest.raises(InvalidRequest, match="pulse_interval_secs"):
        c.start_update(fast)

    async def scenario() -> tuple[str, str, str]:
        async with AsyncSchedulerClient(daemon.url, token=daemon.token(),
                                        retry=RetryPolicy(attempts=3, initial=0.1)) as c:
            started = await c.start_update(new)
            pulsed = await c.pulse_update(key)
            return started.status, pulsed.status, (await c.pulse_update(key)).status

    first, after_pulse, again = asyncio.run(scenario())
    assert (first, after_pulse, again) == ("ROLL_FORWARD_AWAITING_PULSE", "ROLLING_FORWARD",
                                           "ROLLING_FORWARD")
    with daemon.client() as c:
        c.abort_update(key)
        c.killall(key)


def test_errors_and_authorization(make_daemon: Callable[..., Daemon], tmp_path: Path) -> None:
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"tokens": {
        "alice-t": {"user": "alice", "roles": ["www"]},
        "bob-t": {"user": "bob", "roles": ["other"]}}}))
    d = make_daemon("--auth-file", str(auth), name="secured-updates")
    wire = _wire(tmp_path, "upd-auth", "sleep 600", instances=1)
    key = "devcluster/www/test/upd-auth"
    with d.client("bob-t") as bob, d.client("alice-t") as alice:
        alice.create_job(wire)  # (an update of a missing job creates it: test_canary_updates)
        with pytest.raises(ApiError) as unchanged:
            alice.start_update(wire)
        assert unchanged.value.status == 400 and "unchanged" in unchanged.value.message
        new = _wire(tmp_path, "upd-auth", "sleep 601", instances=1)
        with pytest.raises(ApiError) as forbidden:
            bob.start_update(new)
        assert forbidden.value.status == 403
        update = alice.start_update(new)
        with pytest.raises(ApiError) as forbidden:
            bob.pause_update(key)
        assert forbidden.value.status == 403
        assert bob.update_details(key, update.update_id).user == "alice"  # reads are open
        with pytest.raises(ApiError) as bad:
            bob.list_updates(status="sideways")
        assert bad.value.status == 400 and "sideways" in bad.value.message
        with pytest.raises(ApiError) as unknown:
            bob.update_details(key, "no-such-update")
        assert unknown.value.status == 404
        with pytest.raises(ApiError) as no_pulse:
            alice.pulse_update(key)
        assert no_pulse.value.status == 400
        bad_config = dict(new, update_config={"batch_size": 0})
        with pytest.raises(ApiError) as invalid:
            alice.start_update(bad_config)
        assert invalid.value.status == 400 and "batch_size" in invalid.value.message


def test_update_continues_after_kill9(make_daemon: Callable[..., Daemon],
                                      tmp_path: Path) -> None:
    d = make_daemon(name="restarted")
    key = _started(d, _wire(tmp_path, "upd-durable", "sleep 600", instances=3))
    new = _wire(tmp_path, "upd-durable", "sleep 601", instances=3)
    with d.client() as c:
        update = c.start_update(new)

    def one_updated() -> bool:
        with d.client() as c:
            events = c.update_details(key, update.update_id).instance_events
        return any(e.action == "INSTANCE_UPDATED" for e in events)

    eventually(one_updated, what="a first instance updated")
    d.stop(signal.SIGKILL)
    d.start()
    done = _ended(d, key, update.update_id)
    assert done.status == "ROLLED_FORWARD"
    updated = sorted(e.instance for e in done.instance_events if e.action == "INSTANCE_UPDATED")
    assert updated == [0, 1, 2]  # each exactly once, across the restart
    eventually(lambda: _runs(d, new), what="the new configuration everywhere")


def test_update_through_the_cli(daemon: Daemon, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    daemon.as_devcluster(tmp_path, monkeypatch)
    config = tmp_path / "svc.aurora"
    config.write_text(CONFIG)
    key = "devcluster/www/test/upd-cli"
    binds = ["--bind", "count=2", "--bind", "watch=1"]
    assert main(["job", "create", key, str(config), "--bind", "cmd=sleep 600", *binds,
                 "--wait-until", "RUNNING"]) == 0
    code = main(["update", "start", key, str(config), "--bind", "cmd=sleep 601", *binds,
                 "--wait", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    details = json.loads(out[out.index("{"):])
    assert details["status"] == "ROLLED_FORWARD"
    update_id = details["update_id"]
    assert main(["update", "info", key]) == 0
    out, _ = capsys.readouterr()
    assert f"update {update_id}" in out and "INSTANCE_UPDATED" in out
    assert main(["update", "list", "devcluster/www", "--status", "ROLLED_FORWARD"]) == 0
    out, _ = capsys.readouterr()
    assert update_id in out
    assert main(["update", "wait", key, update_id]) == 0
    out, _ = capsys.readouterr()
    assert out.strip().endswith("ROLLED_FORWARD")
    # A longer watch for a failing task: under load, its exit may follow RUNNING by > 1 s.
    code = main(["update", "start", key, str(config), "--bind", "cmd=exit 1", "--bind",
                 "count=2", "--bind", "watch=5"])
    out, _ = capsys.readouterr()
    assert code == 0
    failing = out.split()[1]
    assert main(["update", "wait", key, failing, "--json"]) == 1  # rolled back
    out, _ = capsys.readouterr()
    assert json.loads(out[out.index("{"):])["status"] == "ROLLED_BACK"
    # Without an id: the job's active update, else its newest (the rolled-back one).
    assert main(["update", "wait", key]) == 1
    out, _ = capsys.readouterr()
    assert out.strip() == f"update {failing} of {key}: ROLLED_BACK"
    # --status repeated (both listed, newest first) and --user.
    assert main(["update", "list", "devcluster/www/test/upd-cli", "--status", "ROLLED_FORWARD",
                 "--status", "ROLLED_BACK", "--user", details["user"]]) == 0
    out, _ = capsys.readouterr()
    assert [line.split()[1] for line in out.splitlines()] == [failing, update_id]
    assert main(["update", "list", "devcluster/www", "--user", "nobody-at-all"]) == 0
    out, _ = capsys.readouterr()
    assert out == ""
    assert main(["update", "pause", key]) == 1  # nothing active: one line on stderr
    _, err = capsys.readouterr()
    assert err.startswith("aurora: ") and "no active update" in err
    assert main(["job", "killall", key]) == 0
