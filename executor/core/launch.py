"""Starting one run of a process: bash in its own session, logs, exit-code file.

The command runs as ``/bin/bash -c CMDLINE`` (as in Thermos), with Thermos's environment
(HOME is the sandbox, USER/LOGNAME, PATH, and BASH_ENV when ``.thermos_profile`` exists) and
the sandbox as working directory. An outer bash is the run's session leader and waits for
it, then writes the exit status to ``exit/<process>.<run>``: that file is how a runner that
was restarted learns how a run it re-attached to ended, since only a parent can wait for a
child. The runner itself spawns with ``posix_spawn`` (no fork of the runner's memory).

A task run as another user (``users.TaskUser``) has only its inner bash switched, by the
outer one, which stays the runner's: the exit-code file is out of the task's reach. The
outer bash is never given ``BASH_ENV`` (it would source the task's own profile, as root):
it exports it for the inner bash once it has started.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from . import procfs
from .logs import APPEND, STREAMS, Pump, open_dir, run_log_dir
from .paths import xcom_path
from .spec import PROCESS_NAME_RE, LoggerSpec
from .users import TaskUser, runner_user

BASH = "/bin/bash"
# $1: the command line, $2: the exit-code file, $3: the sandbox, $4: BASH_ENV (or empty),
# $5: the cgroup.procs file the run joins first (or empty), then what switches user (or
# nothing).
WRAPPER = ('cd "$3" || exit 127; [ -z "$5" ] || echo 0 > "$5" || exit 126; '
           '[ -z "$4" ] || export BASH_ENV="$4"; '
           '"${@:6}" /bin/bash -c "$1"; rc=$?; printf "%d\\n" "$rc" > "$2"; exit "$rc"')


class Launched(NamedTuple):
    pid: int
    create_time: float | None
    pumps: list[Pump]


def process_env(sandbox: Path, preserve_env: bool = False,
                user: TaskUser | None = None) -> dict[str, str]:
    """Thermos's environment of a process; USER and LOGNAME name the task's user,
    AURORA_XCOM_FILE the file a process may write the task's JSON result to."""
    env = dict(os.environ) if preserve_env else {}
    name = (user or runner_user()).name
    env.update(
        HOME=str(sandbox),
        USER=name,
        LOGNAME=name,
        PATH=os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        AURORA_XCOM_FILE=xcom_path(sandbox),
    )
    profile = sandbox / ".thermos_profile"
    if profile.exists():
        env["BASH_ENV"] = str(profile)
    return env


def launch(
    *,
    process: str,
    run: int,
    cmdline: str,
    sandbox: Path,
    log_dir: Path,
    logger: LoggerSpec,
    exit_file: Path,
    env: dict[str, str],
    as_user: Sequence[str] = (),
    cgroup_procs: Path | None = None,
) -> Launched:
    """Spawn the run; raises ``OSError`` when it cannot be started at all, or when its log
    files would land outside the sandbox.

    :param as_user: the command that runs the inner bash as the task's user
        (``TaskUser.prefix()``); empty: as the runner.
    :param cgroup_procs: the task's cgroup (``cgroups.TaskCgroup.procs``), joined by the
        wrapper before the command starts.
    """
    if not PROCESS_NAME_RE.match(process):
        raise OSError(errno.EINVAL, f"process name {process!r} is not a file name")
    logs = run_log_dir(log_dir, process, run)
    _inside(logs, sandbox)
    exit_file.parent.mkdir(parents=True, exist_ok=True)
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
    ]
    pumps: list[Pump] = []
    child_ends: list[int] = []
    # Made and opened through descriptors, never through a link the task put in its
    # sandbox (the runner may be root): see ``logs``.
    logs_fd = open_dir(sandbox, logs, create=True)
    try:
        for fd, stream in zip((1, 2), STREAMS, strict=True):
            path = logs / stream
            if logger.destination == "none":
                actions.append((os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0))
            elif logger.destination == "file":
                child_ends.append(os.open(stream, APPEND, 0o644, dir_fd=logs_fd))
                actions.append((os.POSIX_SPAWN_DUP2, child_ends[-1], fd))
            else:
                read_end, write_end = os.pipe()
                os.set_blocking(read_end, False)
                child_ends.append(write_end)
                actions.append((os.POSIX_SPAWN_DUP2, write_end, fd))
                pumps.append(Pump(read_end, stream, logger, path, logs_fd))
        outer = dict(env)
        bash_env = outer.pop("BASH_ENV", "")
        argv = [BASH, "-c", WRAPPER, "thermos", cmdline, str(exit_file), str(sandbox),
                bash_env, str(cgroup_procs or ""), *as_user]
        pid = os.posix_spawn(BASH, argv, outer, file_actions=actions, setsid=True)
    except OSError:
        for pump in pumps:
            pump.close()
        raise
    finally:
        os.close(logs_fd)
        for fd in child_ends:
            os.close(fd)
    return Launched(pid=pid, create_time=procfs.create_time(pid), pumps=pumps)


def _inside(path: Path, sandbox: Path) -> None:
    """A task's processes own the sandbox and may replace a log directory with a symlink:
    refuse a path that resolves out of it, before anything is created through it."""
    root = os.path.realpath(sandbox)
    real = os.path.realpath(path)
    if os.path.commonpath([root, real]) != root:
        raise OSError(errno.EXDEV, f"{path} resolves to {real}, outside the sandbox {root}")


def read_exit_code(exit_file: Path) -> int | None:
    """The exit status the wrapper wrote, or None if it wrote none (it was killed)."""
    try:
        text = exit_file.read_text()
    except OSError:
        return None
    if not text.endswith("\n"):
        return None
    try:
        return int(text)
    except ValueError:
        return None
