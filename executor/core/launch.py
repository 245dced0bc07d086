"""Starting one run of a process: bash in its own session, logs, exit-code file.

The command runs as ``/bin/bash -c CMDLINE`` (as in Thermos), with Thermos's environment
(HOME is the sandbox, USER/LOGNAME, PATH, and BASH_ENV when ``.thermos_profile`` exists) and
the sandbox as working directory. An outer bash is the run's session leader and waits for
it, then writes the exit status to ``exit/<process>.<run>``: that file is how a runner that
was restarted learns how a run it re-attached to ended, since only a parent can wait for a
child. The runner itself spawns with ``posix_spawn`` (no fork of the runner's memory).
"""

from __future__ import annotations

import errno
import os
import pwd
from pathlib import Path
from typing import NamedTuple

from . import procfs
from .logs import STREAMS, Pump, run_log_dir
from .spec import PROCESS_NAME_RE, LoggerSpec

BASH = "/bin/bash"
# $1: the command line, $2: the exit-code file, $3: the sandbox.
WRAPPER = 'cd "$3" || exit 127; /bin/bash -c "$1"; rc=$?; printf "%d\\n" "$rc" > "$2"; exit "$rc"'


class Launched(NamedTuple):
    pid: int
    create_time: float | None
    pumps: list[Pump]


def process_env(sandbox: Path, preserve_env: bool = False) -> dict[str, str]:
    env = dict(os.environ) if preserve_env else {}
    user = pwd.getpwuid(os.getuid()).pw_name
    env.update(
        HOME=str(sandbox),
        USER=user,
        LOGNAME=user,
        PATH=os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
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
) -> Launched:
    """Spawn the run; raises ``OSError`` when it cannot be started at all, or when its log
    files would land outside the sandbox."""
    if not PROCESS_NAME_RE.match(process):
        raise OSError(errno.EINVAL, f"process name {process!r} is not a file name")
    logs = run_log_dir(log_dir, process, run)
    _inside(logs, sandbox)
    logs.mkdir(parents=True, exist_ok=True)
    exit_file.parent.mkdir(parents=True, exist_ok=True)
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
    ]
    pumps: list[Pump] = []
    child_ends: list[int] = []
    try:
        for fd, stream in zip((1, 2), STREAMS, strict=True):
            path = logs / stream
            if logger.destination == "none":
                actions.append((os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0))
            elif logger.destination == "file":
                flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
                actions.append((os.POSIX_SPAWN_OPEN, fd, str(path), flags, 0o644))
            else:
                read_end, write_end = os.pipe()
                os.set_blocking(read_end, False)
                child_ends.append(write_end)
                actions.append((os.POSIX_SPAWN_DUP2, write_end, fd))
                pumps.append(Pump(read_end, stream, logger, path))
        argv = [BASH, "-c", WRAPPER, "thermos", cmdline, str(exit_file), str(sandbox)]
        pid = os.posix_spawn(BASH, argv, env, file_actions=actions, setsid=True)
    except OSError:
        for pump in pumps:
            pump.close()
        raise
    finally:
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
