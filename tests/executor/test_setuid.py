"""``thermos run --setuid USER``: the task's processes run as USER, the runner and each run's
outer bash (which writes the exit-code file) stay root; a user that does not exist, a
sandbox USER cannot reach, and a runner that is not root are each refused in one line; and
the runner, which may be root, never creates, appends to or rotates a log through a link
the task put in its sandbox.

The setuid tests are root only (CI runs the suite as root), with Debian's ``www-data``
(uid 33) as the task user, in a directory under /tmp that others may traverse (pytest's own
tmp is 0700).
"""

from __future__ import annotations

import errno
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from aurora_provider.mesos.task_data import AssignedTask
from executor.api import CheckpointReader, TaskView, runner_argv
from executor.cli import main
from executor.core.logs import open_dir, rotate_if_needed
from executor.core.spec import HealthSpec, LoggerSpec
from executor.core.users import SETPRIV, task_user
from executor.errors import ExecutorError, InvalidTask
from executor.mesos.task import TaskRun
from executor.services.health import shell_probe
from tests.unix_users import user_exists

pytestmark = pytest.mark.process
root_only = pytest.mark.skipif(
    os.geteuid() != 0 or not user_exists("www-data") or not os.access(SETPRIV, os.X_OK),
    reason=f"switching users needs root, a www-data user and {SETPRIV}")

USER = "www-data"
CONFIG = """
main = Process(name='main', cmdline={cmdline!r})
jobs = [Job(cluster='local', role='www-data', environment='devel', name='job',
            task=Task(processes=[main], resources=Resources(cpu=0.1, ram=16*MB, disk=16*MB)))]
"""


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory every user may traverse, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="thermos-setuid-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run(base: Path, cmdline: str, *flags: str, root: Path | None = None,
        task_id: str = "t1") -> int:
    config = base / "job.aurora"
    config.write_text(CONFIG.format(cmdline=cmdline))
    return main(["run", str(config), "--job", "local/www-data/devel/job", "--task-id", task_id,
                 "--checkpoint-root", str(root or base / "ck"), *flags])


def view(root: Path, task_id: str = "t1") -> TaskView:
    task = CheckpointReader(root).task(task_id)
    assert task is not None
    return task


@root_only
def test_processes_run_as_the_user_the_runner_and_its_files_stay_root(base: Path) -> None:
    secret = base / "secret"
    secret.write_text("root only\n")
    os.chmod(secret, 0o600)
    cmdline = (f"id -u > uid; id -g > gid; echo $USER $LOGNAME $HOME > env; "
               f"cat {secret} > seen 2>&1; exit 7")
    assert run(base, cmdline, "--setuid", USER) == 1
    task = view(base / "ck")
    assert task.state == "FAILED"
    assert task.processes["main"].runs[-1].return_code == 7
    sandbox = base / "ck" / "t1" / "sandbox"
    assert (sandbox / "uid").read_text().strip() == "33"
    assert (sandbox / "gid").read_text().strip() == str(pwd.getpwnam(USER).pw_gid)
    assert (sandbox / "env").read_text().split() == [USER, USER, str(sandbox)]
    assert "Permission denied" in (sandbox / "seen").read_text()
    st = sandbox.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (33, 0o700)
    assert (sandbox / "uid").stat().st_uid == 33
    # What the runner writes is its own: the checkpoint, the exit-code files, the logs.
    for path in (base / "ck" / "t1" / "runner.ckpt", base / "ck" / "t1" / "exit" / "main.0",
                 sandbox / ".logs"):
        assert path.stat().st_uid == 0, path


@root_only
def test_a_task_cannot_forge_its_exit_code_file(base: Path) -> None:
    exit_file = base / "ck" / "t1" / "exit" / "main.0"
    assert run(base, f"echo 0 > {exit_file}; exit 3", "--setuid", USER) == 1
    assert view(base / "ck").processes["main"].runs[-1].return_code == 3
    assert exit_file.read_text() == "3\n"


@root_only
def test_the_profile_is_sourced_by_the_task_only_never_by_the_root_wrapper(base: Path) -> None:
    sandbox = base / "sandbox"
    sandbox.mkdir()
    # Each bash that sources the profile appends its uid: only the inner, the user's.
    (sandbox / ".thermos_profile").write_text(f"id -u >> {sandbox}/sourced\n")
    assert run(base, "true", "--setuid", USER, "--sandbox", str(sandbox)) == 0
    assert (sandbox / "sourced").read_text().split() == ["33"]


@root_only
def test_a_user_that_does_not_exist_is_one_line(base: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run(base, "true", "--setuid", "no-such-user-here") == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("thermos: no Unix user 'no-such-user-here' on this host")
    assert "without --setuid" in line
    assert not (base / "ck" / "t1").exists()  # refused before anything is made


@root_only
def test_a_sandbox_the_user_cannot_reach_fails_the_task_in_one_line(base: Path) -> None:
    private = base / "private"
    private.mkdir(mode=0o700)
    root = private / "ck"
    assert run(base, "touch ran", "--setuid", USER, root=root) == 1
    task = view(root)
    assert task.state == "FAILED"
    assert task.message is not None and "\n" not in task.message
    assert f"{private} (mode 0700) is not searchable by it" in task.message
    assert USER in task.message and "--nosetuid" in task.message
    assert task.processes == {}  # nothing was started there
    assert not (root / "t1" / "sandbox" / "ran").exists()


@root_only
def test_without_setuid_a_root_runner_runs_the_task_as_root(base: Path) -> None:
    assert run(base, "id -u > uid; echo $USER > user") == 0
    sandbox = base / "ck" / "t1" / "sandbox"
    assert (sandbox / "uid").read_text().strip() == "0"
    assert (sandbox / "user").read_text().strip() == "root"


@root_only
def test_a_runner_that_is_not_root_refuses_another_user() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child becomes www-data and asks for root
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(33)
            os.setuid(33)
            try:
                task_user("root")
            except InvalidTask:
                pass
            except ExecutorError as e:
                os.write(write, str(e).encode())
                code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as f:
        message = f.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, message
    assert message == ("--setuid root: this runner runs as www-data, not root, and cannot "
                       "run a task as another user: run it as root, or without --setuid")


@root_only
def test_a_shell_health_check_runs_as_the_user(base: Path) -> None:
    user = task_user(USER)
    check = HealthSpec(kind="shell", shell_command='test "$(id -u)" = 33', timeout_secs=10)
    assert shell_probe(check, base, {"PATH": "/usr/bin:/bin"}, user.prefix())() == (True, None)
    assert shell_probe(check, base, {"PATH": "/usr/bin:/bin"})()[0] is False  # as root


@root_only
def test_runner_argv_passes_the_user_and_refuses_one_that_does_not_exist() -> None:
    def argv(setuid: str) -> list[str]:
        return runner_argv(executor_data="job.json", task_id="t", instance=0, hostname="h",
                           ports={}, sandbox="sb", checkpoint_root="ck", setuid=setuid)

    made = argv(USER)
    assert made[made.index("--setuid") + 1] == USER
    with pytest.raises(InvalidTask, match=r"no Unix user 'no-such-user-here'.*--nosetuid"):
        argv("no-such-user-here")


@root_only
@pytest.mark.parametrize(("data", "words"), [
    ('{"role": "no-such-user-here"}', "no Unix user 'no-such-user-here'"),
    ("{}", "names no role"),
])
def test_the_mesos_executor_refuses_a_role_it_cannot_run_as(tmp_path: Path, data: str,
                                                            words: str) -> None:
    assigned = AssignedTask(task_id="t1", instance=0, hostname="h", executor_data=data)
    task = TaskRun(assigned, mesos_sandbox=tmp_path, checkpoint_root=tmp_path / "ck",
                   setuid=True)
    with pytest.raises(InvalidTask, match=words):
        task.start()
    assert not (tmp_path / "ck").exists()  # no runner was started


def test_log_directories_are_never_reached_through_a_link(tmp_path: Path) -> None:
    sandbox, outside = tmp_path / "sandbox", tmp_path / "outside"
    (sandbox / ".logs").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside, sandbox / ".logs" / "main")
    with pytest.raises(OSError) as raised:
        open_dir(sandbox, sandbox / ".logs" / "main" / "0", create=True)
    assert raised.value.errno in (errno.ELOOP, errno.ENOTDIR)
    assert list(outside.iterdir()) == []


def test_rotation_never_truncates_or_copies_through_a_link(tmp_path: Path) -> None:
    logs = tmp_path / "sandbox" / ".logs"
    (logs / "main" / "0").mkdir(parents=True)
    precious = tmp_path / "precious"
    precious.write_bytes(b"x" * 100)
    os.symlink(precious, logs / "main" / "0" / "stdout")
    rotate_if_needed(logs / "main" / "0" / "stdout", LoggerSpec(mode="rotate", log_size=10))
    assert precious.read_bytes() == b"x" * 100
    assert not (logs / "main" / "0" / "stdout.1").exists()


def test_rotation_keeps_its_backups(tmp_path: Path) -> None:
    run_dir = tmp_path / "sandbox" / ".logs" / "main" / "0"
    run_dir.mkdir(parents=True)
    stdout = run_dir / "stdout"
    logger = LoggerSpec(mode="rotate", log_size=10, backups=2)
    for content in (b"a" * 20, b"b" * 20, b"c" * 20):
        stdout.write_bytes(content)
        rotate_if_needed(stdout, logger)
    assert stdout.read_bytes() == b""
    assert (run_dir / "stdout.1").read_bytes() == b"c" * 20
    assert (run_dir / "stdout.2").read_bytes() == b"b" * 20
    assert not (run_dir / "stdout.3").exists()
