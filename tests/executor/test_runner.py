"""The runner with real processes in tmp_path (a skipping clock makes waits instant)."""

from __future__ import annotations

import itertools

import pytest

from aurora_provider.states.process_run import ProcessState
from executor.core.spec import LoggerSpec
from tests.eventually import eventually

from .conftest import Env
from .helpers import pid_alive, proc, task, view

pytestmark = pytest.mark.process


def test_processes_run_in_order_under_bash_with_thermos_environment(env: Env) -> None:
    spec = task(
        proc("first", "echo $HOME $USER; pwd; sleep 0.1"),
        proc("second", "[[ -n $BASH_VERSION ]] && echo bash"),
        order=(("first", "second"),),
    )
    assert env.runner(spec).run().value == "SUCCESS"
    v = view(env.root)
    first, second = v.processes["first"].runs[0], v.processes["second"].runs[0]
    assert first.stop_time is not None and second.start_time is not None
    assert second.start_time >= first.stop_time
    home, _user = env.log("first").split("\n")[0].split()
    assert home == str(env.sandbox)
    assert env.log("first").split("\n")[1] == str(env.sandbox)
    assert env.log("second") == "bash\n"


def test_retries_respect_min_duration_and_max_failures(env: Env) -> None:
    spec = task(proc("flaky", "echo run; exit 2", max_failures=3, min_duration=7))
    runner = env.runner(spec)
    assert runner.run().value == "FAILED"
    runs = view(env.root).processes["flaky"].runs
    assert [r.state for r in runs] == ["FAILED"] * 3
    for before, after in itertools.pairwise(runs):
        assert after.start_time is not None and before.stop_time is not None
        assert after.start_time - before.stop_time >= 7
    assert view(env.root).failure_reason == "process(es) failed: flaky"
    assert env.log("flaky", 2) == "run\n"


def test_a_success_after_failures_succeeds(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "count"
    cmd = f"echo x >> {marker}; [ $(wc -l < {marker}) -ge 3 ]"
    assert env.runner(task(proc("p", cmd, max_failures=5))).run().value == "SUCCESS"
    assert [r.state for r in view(env.root).processes["p"].runs] == ["FAILED", "FAILED", "SUCCESS"]


def test_daemon_reruns_after_success_up_to_the_run_cap(env: Env) -> None:
    spec = task(proc("d", "true", daemon=True))
    assert env.runner(spec).run().value == "FAILED"
    runs = view(env.root).processes["d"].runs
    assert len(runs) == 100 and all(r.state == "SUCCESS" for r in runs)


def test_ephemeral_processes_are_not_waited_for_and_get_killed(env: Env) -> None:
    spec = task(proc("side", "sleep 300", ephemeral=True), proc("main", "sleep 0.2"))
    assert env.runner(spec).run().value == "SUCCESS"
    v = view(env.root)
    side = v.processes["side"].runs[-1]
    assert side.state == "KILLED" and side.pid is not None and not pid_alive(side.pid)


def test_final_processes_run_after_the_regular_ones_even_on_failure(env: Env) -> None:
    spec = task(
        proc("work", "exit 1"),
        proc("save", "echo saved", final=True),
        proc("upload", "echo uploaded", final=True),
        order=(("save", "upload"),),
    )
    assert env.runner(spec).run().value == "FAILED"
    v = view(env.root)
    assert [s for s, _ in v.statuses] == ["CLEANING", "FINALIZING", "FAILED"]
    save, upload = v.processes["save"].runs[0], v.processes["upload"].runs[0]
    assert save.state == upload.state == "SUCCESS"
    assert save.start_time is not None and v.processes["work"].runs[0].stop_time is not None
    assert save.start_time >= v.processes["work"].runs[0].stop_time
    assert upload.start_time is not None and save.stop_time is not None
    assert upload.start_time >= save.stop_time


def test_finalization_wait_sigkills_whole_trees_that_ignore_sigterm(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pids = tmp_path / "pids"
    stubborn = f"trap '' TERM; (sleep 300 & echo $! >> {pids}; wait) & echo $! >> {pids}; wait"
    spec = task(
        proc("stubborn", stubborn, ephemeral=True),
        proc(
            "main", f"while [ $(wc -l < {pids} 2>/dev/null || echo 0) -lt 2 ]; do sleep 0.02; done"
        ),
        proc("final", "sleep 300", final=True),
        finalization_wait=30,
    )
    runner = env.runner(spec)
    assert runner.run().value == "SUCCESS"
    v = view(env.root)
    assert [s for s, _ in v.statuses] == ["CLEANING", "SUCCESS"]  # no time left to finalize
    tree = [int(p) for p in pids.read_text().split()]
    assert v.processes["stubborn"].runs[0].pid is not None
    tree.append(v.processes["stubborn"].runs[0].pid)
    assert not any(pid_alive(p) for p in tree)
    assert "final" not in v.processes


def test_max_concurrency_limits_parallel_runs(env: Env) -> None:
    names = [f"p{i}" for i in range(5)]
    spec = task(*(proc(n, "sleep 0.1") for n in names), max_concurrency=2)
    assert env.runner(spec).run().value == "SUCCESS"
    v = view(env.root)
    events = []
    for n in names:
        r = v.processes[n].runs[0]
        assert r.start_time is not None and r.stop_time is not None
        events += [(r.start_time, 1), (r.stop_time, -1)]
    running = peak = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        running += delta
        peak = max(peak, running)
    assert peak == 2


def test_a_command_that_cannot_run_fails_its_process_with_the_reason(env: Env) -> None:
    spec = task(proc("bad", "no-such-command-here --flag"))
    assert env.runner(spec).run().value == "FAILED"
    run = view(env.root).processes["bad"].runs[0]
    assert run.state == "FAILED" and run.return_code == 127
    assert run.reason == "command not found (exit status 127)"
    assert "no-such-command-here" in env.log("bad", stream="stderr")


def test_task_max_failures_counts_failed_processes(env: Env) -> None:
    spec = task(proc("a", "exit 1"), proc("b", "sleep 0.3"), proc("c", "true"), max_failures=2)
    assert env.runner(spec).run().value == "SUCCESS"  # one failed process of two allowed
    assert view(env.root).processes["a"].runs[0].state == "FAILED"


def test_logger_destinations_and_rotation(env: Env, capfd) -> None:  # type: ignore[no-untyped-def]
    spec = task(
        proc("both", "echo to-both", logger=LoggerSpec(destination="both")),
        proc("console", "echo to-console", logger=LoggerSpec(destination="console")),
        proc("none", "echo nowhere", logger=LoggerSpec(destination="none")),
        proc(
            "rot",
            "head -c 3000 /dev/zero; sleep 1.5; head -c 3000 /dev/zero; sleep 1.5",
            logger=LoggerSpec(mode="rotate", log_size=1000, backups=2),
        ),
    )
    runner = env.runner(spec, sample_interval=0.5, clock=None)
    assert runner.run().value == "SUCCESS"
    out = capfd.readouterr().out
    assert "to-both" in out and "to-console" in out and "nowhere" not in out
    assert env.log("both") == "to-both\n"
    assert not (env.sandbox / ".logs/console/0/stdout").exists()
    rot = env.sandbox / ".logs/rot/0"
    assert (rot / "stdout.1").stat().st_size >= 1000
    assert (rot / "stdout.2").exists() and not (rot / "stdout.3").exists()


def test_kill_stops_processes_and_records_killed(env: Env) -> None:
    spec = task(proc("long", "sleep 300"), proc("final", "echo bye", final=True))
    runner = env.runner(spec, clock=None)
    thread = env.run_in_thread(runner)
    eventually(lambda: runner.supervisor.handles, what="long running")
    runner.stop()
    thread.join(20)
    v = view(env.root)
    assert v.state == "KILLED"
    assert v.processes["long"].runs[0].state == ProcessState.KILLED.value
    assert v.processes["final"].runs[0].state == "SUCCESS"  # final processes still run


def test_resource_samples_are_written(env: Env) -> None:
    spec = task(proc("busy", "sleep 1.2"))
    runner = env.runner(spec, sample_interval=0.3, clock=None)
    assert runner.run().value == "SUCCESS"
    res = view(env.root).resources
    assert "disk_bytes" in res and "time" in res


def test_thermos_profile_is_sourced_through_bash_env(env: Env) -> None:
    env.sandbox.mkdir(parents=True)
    (env.sandbox / ".thermos_profile").write_text("export GREETING=hello-from-profile\n")
    assert env.runner(task(proc("p", "echo $GREETING"))).run().value == "SUCCESS"
    assert env.log("p") == "hello-from-profile\n"


def test_what_a_finished_run_leaves_in_its_session_is_killed(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "orphan"
    spec = task(proc("p", f"sleep 300 & echo $! > {pidfile}; exit 0"))
    assert env.runner(spec).run().value == "SUCCESS"
    assert not pid_alive(int(pidfile.read_text()))  # Thermos cleaned up a finished tree too


def test_a_process_forked_after_the_sigterms_is_stopped_too(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    pidfile = tmp_path / "late"
    late = f"trap 'sleep 300 & echo $! > {pidfile}; exit 0' TERM; while :; do sleep 0.02; done"
    spec = task(proc("late", late, ephemeral=True), proc("main", "sleep 0.3"))
    assert env.runner(spec, clock=None).run().value == "SUCCESS"
    assert not pid_alive(int(pidfile.read_text()))
