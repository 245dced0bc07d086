"""The task's resources enforced: disk in real sandboxes, RAM and CPU through cgroup v2.

Disk: real runners (``executor.runner_main``), the Mesos executor against a scripted agent,
and the scheduler's local backend. cgroup v2: what this machine says when it cannot be used,
and the decisions (paths, values written) against a directory laid out like a v2 tree.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora_provider.api import models as m
from executor.cli import main as thermos_main
from executor.core import cgroups
from executor.core.cgroups import TaskCgroup, Unavailable
from executor.core.launch import launch, read_exit_code
from executor.core.spec import LoggerSpec, ResourcesSpec, TaskSpec
from executor.services.limits import MemoryLimit
from tests.daemon import Daemon
from tests.eventually import eventually
from tests.executor.conftest import Env
from tests.executor.helpers import proc, start_runner, task, view
from tests.executor.test_mesos_driver import ScriptedAgent, task_info
from tests.executor.test_mesos_executor import (
    TASK_ID,
    Executors,
    assigned,
    job_data,
    states_reach,
)
from tests.executor.test_mesos_executor import proc as job_proc
from tests.scheduler.conftest import job_wire

MB = 1024 * 1024
FILL_12MB = f"head -c {12 * MB} /dev/zero > big && sleep 600"
OVER_8MB = re.compile(r"sandbox uses 12\.\d MB, over its disk limit of 8\.0 MB")
QUICK_DISK = ["--disk-collection-interval-secs", "0.2"]


def finished(runner: subprocess.Popen[str]) -> int:
    return runner.wait(60)


def run_runner(tmp_path: Path, spec: TaskSpec, *extra: str) -> subprocess.CompletedProcess[str]:
    """``executor.runner_main`` to its end, with its log (not ``--quiet``)."""
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(spec.to_json())
    return subprocess.run(
        [sys.executable, "-m", "executor.runner_main", "--task-spec", str(spec_file),
         "--task-id", "t1", "--checkpoint-root", str(tmp_path / "ckpt"),
         "--sandbox", str(tmp_path / "sandbox"), *extra],
        capture_output=True, text=True, timeout=60)  # fmt: skip


# ------------------------------------------------------------------ disk, a real runner
@pytest.mark.process
def test_a_task_over_its_disk_is_killed_and_fails_saying_so(tmp_path: Path) -> None:
    spec = task(proc("fill", FILL_12MB), resources=ResourcesSpec(disk=8 * MB))
    runner = start_runner(tmp_path / "ckpt", tmp_path / "sandbox", spec, "t1", *QUICK_DISK)
    assert finished(runner) == 1
    v = view(tmp_path / "ckpt")
    assert v.state == "FAILED"
    assert v.message is not None and OVER_8MB.fullmatch(v.message), v.message
    assert v.processes["fill"].runs[-1].state == "KILLED"  # the sleep never ran its 600 s


@pytest.mark.process
def test_a_task_within_its_disk_is_untouched(tmp_path: Path) -> None:
    spec = task(proc("fill", f"head -c {MB} /dev/zero > small && sleep 0.8"),
                resources=ResourcesSpec(disk=8 * MB))  # fmt: skip
    runner = start_runner(tmp_path / "ckpt", tmp_path / "sandbox", spec, "t1", *QUICK_DISK)
    assert finished(runner) == 0
    assert view(tmp_path / "ckpt").state == "SUCCESS"
    sample = (tmp_path / "ckpt" / "t1" / "resources.json").read_text()
    assert '"disk_bytes": ' in sample  # it was measured, and let be


@pytest.mark.process
def test_without_disk_enforcement_a_full_sandbox_is_only_measured(tmp_path: Path) -> None:
    spec = task(proc("fill", f"head -c {12 * MB} /dev/zero > big && sleep 0.8"),
                resources=ResourcesSpec(disk=8 * MB))  # fmt: skip
    runner = start_runner(tmp_path / "ckpt", tmp_path / "sandbox", spec, "t1", *QUICK_DISK,
                          "--no-enforce-disk-quota")  # fmt: skip
    assert finished(runner) == 0
    assert view(tmp_path / "ckpt").state == "SUCCESS"


@pytest.mark.process
def test_a_bad_disk_interval_is_one_line(tmp_path: Path) -> None:
    spec = task(proc("p", "true"))
    runner = start_runner(tmp_path / "ckpt", tmp_path / "sandbox", spec, "t1",
                          "--disk-collection-interval-secs", "0")  # fmt: skip
    assert finished(runner) == 2  # argparse's usage error
    assert runner.stderr is not None
    assert "--disk-collection-interval-secs: invalid" in runner.stderr.read()


@pytest.mark.process
def test_thermos_run_takes_the_flags(tmp_path: Path) -> None:
    # Written after the runner's first measurement: only the flag's interval catches it.
    config = tmp_path / "fill.aurora"
    config.write_text(f"""
fill = Process(name='fill', cmdline='sleep 1.5; {FILL_12MB}')
jobs = [Job(cluster='local', role='me', environment='devel', name='fill',
            task=Task(processes=[fill], resources=Resources(cpu=0.1, ram=16*MB, disk=8*MB)))]
""")
    root = tmp_path / "root"
    code = thermos_main(["run", str(config), "--job", "local/me/devel/fill", "--task-id", "t1",
                         "--checkpoint-root", str(root), *QUICK_DISK])  # fmt: skip
    assert code == 1
    message = view(root).message
    assert message is not None and OVER_8MB.fullmatch(message), message


# ------------------------------------------------------------------ disk, through Mesos
@pytest.fixture
def agent() -> Iterator[ScriptedAgent]:
    a = ScriptedAgent().start()
    yield a
    a.stop()


@pytest.fixture
def executors(tmp_path: Path) -> Iterator[Executors]:
    e = Executors(tmp_path)
    yield e
    e.close()


@pytest.mark.process
def test_the_mesos_update_says_the_task_went_over_its_disk(agent: ScriptedAgent,
                                                           executors: Executors) -> None:
    # Written after the runner's first measurement (a second in): only the interval the
    # executor hands its runner catches it before the default's minute.
    p = executors.start(agent, *QUICK_DISK)
    eventually(lambda: agent.subscriptions(), what="SUBSCRIBE")
    fill = job_proc("fill", f"sleep 1.5; head -c {2 * MB} /dev/zero > big && sleep 600")
    agent.launch(task_info(TASK_ID, assigned(job_data(fill))))  # its disk is 1 MB
    assert states_reach(agent, "TASK_FAILED")[-1] == "TASK_FAILED"
    assert p.wait(60) == 0
    message = agent.updates()[-1]["message"]
    assert re.fullmatch(r"sandbox uses 2\.\d MB, over its disk limit of 1\.0 MB", message), \
        message


# ------------------------------------------------------------------ disk, the local backend
@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    root = tmp_path_factory.mktemp("limits-daemon")
    d = Daemon(root / "work", root / "home", [])
    d.start()
    yield d
    d.stop(signal.SIGKILL)
    d.kill_runners()


@pytest.mark.integration
def test_the_scheduler_shows_why_a_task_failed_over_its_disk(daemon: Daemon,
                                                              tmp_path: Path) -> None:
    # The job's disk is 8 MB; the runner's first measurement comes a second after start.
    wire = job_wire(tmp_path, "filler", FILL_12MB)
    key = "devcluster/www/test/filler"
    with daemon.client() as c:
        c.create_job(wire)

    def ended() -> m.JobStatus | None:
        with daemon.client() as c:
            st = c.job_status(key)
        return st if st.terminal and not st.active else None

    st = eventually(ended, what="the filler's end")
    failed = st.terminal[0]
    assert failed.status == "FAILED"
    last = failed.events[-1]
    assert last.status == "FAILED" and last.message and OVER_8MB.fullmatch(last.message), last


# ------------------------------------------------------------------ cgroup v2, this machine
@pytest.mark.process
def test_a_runner_that_cannot_use_cgroup_v2_says_why_once(tmp_path: Path) -> None:
    found = cgroups.detect()
    spec = task(proc("a", "true"), proc("b", "true"),
                resources=ResourcesSpec(cpu=0.5, ram=64 * MB))  # fmt: skip
    runner = run_runner(tmp_path, spec)
    assert runner.returncode == 0, runner.stderr
    if isinstance(found, Unavailable):  # this machine: cgroup v2 without controllers
        assert runner.stderr.count("cgroup v2 limits not available") == 1, runner.stderr
        assert f"cgroup v2 limits not available: {found.reason}; the task runs without RAM " \
               "and CPU limits" in runner.stderr, runner.stderr
    else:
        assert f"limited through cgroup {found / 'thermos-t1'}" in runner.stderr, runner.stderr


@pytest.mark.process
def test_a_named_cgroup_parent_gets_the_task_group(tmp_path: Path) -> None:
    parent = fake_tree(tmp_path / "cgroup")
    spec = task(proc("a", "echo ran"), resources=ResourcesSpec(cpu=1.5, ram=64 * MB))
    runner = run_runner(tmp_path, spec, "--cgroup-parent", str(parent))
    assert runner.returncode == 0, runner.stderr
    group = parent / "thermos-t1"
    assert f"RAM and CPU limited through cgroup {group}" in runner.stderr, runner.stderr
    assert (parent / "cgroup.subtree_control").read_text() == "+memory +cpu"
    assert (group / "memory.max").read_text() == str(64 * MB)
    assert (group / "cpu.max").read_text() == "150000 100000"
    assert (group / "cgroup.procs").read_text() == "0\n"


@pytest.mark.process
def test_a_cgroup_parent_that_is_no_group_is_said(tmp_path: Path) -> None:
    spec = task(proc("a", "true"), resources=ResourcesSpec(ram=64 * MB))
    runner = run_runner(tmp_path, spec, "--cgroup-parent", str(tmp_path / "none"))
    assert runner.returncode == 0, runner.stderr
    assert f"cgroup v2 limits not available: cannot read {tmp_path}/none/cgroup.controllers: " \
           "No such file or directory; the task runs without RAM and CPU limits" \
           in runner.stderr, runner.stderr


@pytest.mark.process
def test_without_cgroup_limits_nothing_is_tried(tmp_path: Path) -> None:
    spec = task(proc("a", "true"), resources=ResourcesSpec(cpu=0.5, ram=64 * MB))
    runner = run_runner(tmp_path, spec, "--no-cgroup-limits")
    assert runner.returncode == 0, runner.stderr
    assert "cgroup" not in runner.stderr, runner.stderr


# ------------------------------------------------------------------ cgroup v2, a fake tree
MOUNTS = ("cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n"
          "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n")
OWN = "4:memory:/elsewhere\n0::/runner.slice/agent\n"


def fake_tree(root: Path, controllers: str = "cpuset cpu io memory pids",
              enabled: str = "") -> Path:
    group = root / "sys/fs/cgroup/runner.slice/agent"
    group.mkdir(parents=True)
    (group / "cgroup.controllers").write_text(controllers + "\n")
    (group / "cgroup.subtree_control").write_text(enabled + "\n")
    return group


@pytest.mark.unit
def test_the_parent_is_our_own_group_with_memory_and_cpu_enabled_for_children(
        tmp_path: Path) -> None:
    group = fake_tree(tmp_path, enabled="io")
    assert cgroups.find_parent(MOUNTS, OWN, root=tmp_path) == group
    assert (group / "cgroup.subtree_control").read_text() == "+memory +cpu"


@pytest.mark.unit
def test_controllers_enabled_already_are_left_alone(tmp_path: Path) -> None:
    group = fake_tree(tmp_path, enabled="cpu memory")
    assert cgroups.find_parent(MOUNTS, OWN, root=tmp_path) == group
    assert (group / "cgroup.subtree_control").read_text() == "cpu memory\n"


@pytest.mark.unit
@pytest.mark.parametrize(("mounts", "own", "controllers", "reason"), [
    ("cgroup /sys/fs/cgroup/memory cgroup rw 0 0\n", OWN, "cpu memory",
     "no cgroup v2 hierarchy is mounted (/proc/self/mounts)"),
    (MOUNTS, "4:memory:/x\n", "cpu memory",
     "this process is in no cgroup v2 group (/proc/self/cgroup has no 0:: line)"),
    (MOUNTS, OWN, "", "{group} does not offer the memory and cpu controllers (its "
     "cgroup.controllers lists none)"),
    (MOUNTS, OWN, "cpu pids", "{group} does not offer the memory controller (its "
     "cgroup.controllers lists cpu pids)"),
])  # fmt: skip
def test_each_check_that_fails_is_the_reason(tmp_path: Path, mounts: str, own: str,
                                            controllers: str, reason: str) -> None:
    group = fake_tree(tmp_path, controllers=controllers)
    found = cgroups.find_parent(mounts, own, root=tmp_path)
    assert found == Unavailable(reason.format(group=group))
    assert (group / "cgroup.subtree_control").read_text() == "\n"  # nothing written


@pytest.mark.unit
def test_a_group_outside_the_tree_is_unreadable_and_said_so(tmp_path: Path) -> None:
    fake_tree(tmp_path)
    found = cgroups.find_parent(MOUNTS, "0::/gone\n", root=tmp_path)
    assert isinstance(found, Unavailable)
    assert found.reason == f"cannot read {tmp_path}/sys/fs/cgroup/gone/cgroup.controllers: " \
                           "No such file or directory"


@pytest.mark.unit
def test_the_task_group_gets_its_ram_and_cpu(tmp_path: Path) -> None:
    parent = fake_tree(tmp_path)
    swap = parent / "thermos-t1" / "memory.swap.max"
    swap.parent.mkdir()
    swap.write_text("max\n")  # the kernel makes it: swap accounting is on
    group = TaskCgroup.create(parent, "t1", ram=8 * MB, cpu=0.5)
    assert group.path == parent / "thermos-t1"
    assert group.procs == parent / "thermos-t1" / "cgroup.procs"
    assert (group.path / "memory.max").read_text() == str(8 * MB)
    assert swap.read_text() == "0"
    assert (group.path / "cpu.max").read_text() == "50000 100000"


@pytest.mark.unit
def test_limit_values() -> None:
    assert cgroups.limit_values(0, 0) == {}
    assert cgroups.limit_values(MB, 0) == {"memory.max": str(MB), "memory.swap.max": "0"}
    assert cgroups.limit_values(0, 2) == {"cpu.max": "200000 100000"}
    assert cgroups.limit_values(0, 0.001) == {"cpu.max": "1000 100000"}  # the kernel's least


@pytest.mark.unit
def test_without_swap_accounting_only_memory_max_is_written(tmp_path: Path) -> None:
    group = TaskCgroup.create(fake_tree(tmp_path), "t1", ram=8 * MB, cpu=0)
    assert sorted(p.name for p in group.path.iterdir()) == ["memory.max"]


@pytest.mark.unit
def test_an_oom_kill_in_the_group_fails_the_task_saying_so(tmp_path: Path) -> None:
    group = TaskCgroup.create(fake_tree(tmp_path), "t1", ram=8 * MB, cpu=0)
    events = group.path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")  # before this runner
    watch = MemoryLimit(group, 8 * MB)
    watch.start(100.0)
    assert watch.poll(100.0, []) is None
    assert watch.due == 101.0
    events.write_text("low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")
    status = watch.poll(100.5, [])
    assert status is not None and status.fails_task
    assert status.reason == "killed for memory: over its RAM limit of 8 MB"


@pytest.mark.process
def test_each_run_joins_the_group_before_its_command_starts(tmp_path: Path) -> None:
    procs = tmp_path / "cgroup.procs"
    procs.touch()
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    launched = launch(process="p", run=0, cmdline="echo ran > out", sandbox=sandbox,
                      log_dir=sandbox / ".logs", logger=LoggerSpec(),
                      exit_file=tmp_path / "exit" / "p.0", env={"PATH": "/usr/bin:/bin"},
                      cgroup_procs=procs)  # fmt: skip
    _, status = os.waitpid(launched.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert procs.read_text() == "0\n"  # the wrapper wrote itself (0: the writer) into it
    assert (sandbox / "out").read_text() == "ran\n"


@pytest.mark.process
def test_a_run_that_cannot_join_the_group_never_runs_unlimited(tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    launched = launch(process="p", run=0, cmdline="echo ran > out", sandbox=sandbox,
                      log_dir=sandbox / ".logs", logger=LoggerSpec(),
                      exit_file=tmp_path / "exit" / "p.0", env={"PATH": "/usr/bin:/bin"},
                      cgroup_procs=tmp_path / "gone" / "cgroup.procs")  # fmt: skip
    _, status = os.waitpid(launched.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 126
    assert not (sandbox / "out").exists()
    assert read_exit_code(tmp_path / "exit" / "p.0") is None
    assert "cgroup.procs" in (sandbox / ".logs" / "p" / "0" / "stderr").read_text()


@pytest.mark.process
def test_a_task_the_oom_killer_hit_fails_for_memory(env: Env, tmp_path: Path) -> None:
    # The fake tree's kernel is the run itself: it counts its OOM kill, then dies of SIGKILL.
    parent = fake_tree(tmp_path / "cgroup")
    group = parent / "thermos-t1"
    hog = proc("hog", f"printf 'oom 1\\noom_kill 1\\n' > {group}/memory.events; kill -9 $$")
    runner = env.runner(task(hog, resources=ResourcesSpec(cpu=0.25, ram=8 * MB)),
                        cgroup_parent=lambda: parent)  # fmt: skip
    assert runner.run().value == "FAILED"
    assert view(env.root).message == "killed for memory: over its RAM limit of 8 MB"
    assert (group / "cgroup.procs").read_text() == "0\n"  # the run joined the task's group
    assert (group / "memory.max").read_text() == str(8 * MB)
    assert (group / "cpu.max").read_text() == "25000 100000"
