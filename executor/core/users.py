"""Who a task's processes run as: the runner's own user, or (Thermos's ``--setuid``) another.

Aurora runs a task as its role's Unix user, so that a task cannot read what the runner (or
the scheduler, on the local backend) holds. The runner stays its own user, root, and so does
each run's outer bash (``launch.WRAPPER``), which writes the run's exit-code file: a task
cannot forge how its runs ended. Only the inner ``/bin/bash -c CMDLINE`` (and a shell
health check) switches user, through util-linux's ``setpriv`` (real, effective and saved
uid and gid, supplementary groups from initgroups(3)), exec'd by the outer bash: Python's
``posix_spawn`` cannot change ids, and a ``preexec_fn`` would fork the runner's memory.

The sandbox is chowned to the user (mode 0700: one role's task cannot read another's); what
the runner writes (checkpoint, exit files, the log files it opens) stays the runner's.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExecutorError, InvalidTask

SETPRIV = "/usr/bin/setpriv"
# How a scheduler or executor is told to run tasks as its own user instead.
NOSETUID = "start the scheduler (or executor) with --nosetuid"


@dataclass(frozen=True)
class TaskUser:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]

    @property
    def switched(self) -> bool:
        """Whether the task runs as another user than the runner."""
        return self.uid != os.geteuid()

    def prefix(self) -> list[str]:
        """What a command is prefixed with to run as this user (nothing: as the runner)."""
        if not self.switched:
            return []
        return [SETPRIV, f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups", "--"]


def _of(pw: pwd.struct_passwd) -> TaskUser:
    try:
        groups = tuple(os.getgrouplist(pw.pw_name, pw.pw_gid))
    except OSError:
        groups = (pw.pw_gid,)
    return TaskUser(pw.pw_name, pw.pw_uid, pw.pw_gid, groups)


def runner_user() -> TaskUser:
    """The user this process runs as."""
    try:
        return _of(pwd.getpwuid(os.geteuid()))
    except KeyError:  # a uid without a passwd entry (some containers)
        uid, gid = os.geteuid(), os.getegid()
        return TaskUser(str(uid), uid, gid, (gid,))


def task_user(name: str | None, *, way_out: str = NOSETUID) -> TaskUser:
    """The user ``--setuid NAME`` asks for (None: the runner's own), checked.

    :raises InvalidTask: there is no such user (running the task again would not help).
    :raises ExecutorError: a runner that is not root was asked for another user.
    """
    me = runner_user()
    if name is None or name == me.name:
        return me
    try:
        user = _of(pwd.getpwnam(name))
    except KeyError:
        raise InvalidTask(f"no Unix user {name!r} on this host to run the task as (a task "
                          f"runs as its role's user): create it, or {way_out} to run tasks "
                          f"as {me.name}") from None
    if user.switched and os.geteuid() != 0:
        raise ExecutorError(f"--setuid {name}: this runner runs as {me.name}, not root, and "
                            "cannot run a task as another user: run it as root, or without "
                            "--setuid")
    return user


def recorded_user(name: str | None) -> TaskUser:
    """The user a checkpoint's header names: a resumed (or killed) task's processes,
    final ones included, keep running as it, never as the runner."""
    try:
        return task_user(name or None)
    except InvalidTask:
        raise InvalidTask(f"the task ran as {name!r}, no Unix user on this host any more: "
                          "its processes cannot be run again as that user") from None


def _searchable(st: os.stat_result, user: TaskUser) -> bool:
    if user.uid == 0:
        return True
    if st.st_uid == user.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in user.groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def untraversable(path: Path, user: TaskUser) -> Path | None:
    """The first directory from ``/`` down to ``path`` that ``user`` may not enter (by
    mode bits, ACLs aside), or None. A task whose sandbox is below such a directory would
    fail in confusing ways (its HOME, its profile and its absolute paths unreachable)."""
    path = Path(os.path.abspath(path))
    for directory in [*reversed(path.parents), path]:
        try:
            st = os.stat(directory)
        except OSError:
            return directory
        if not _searchable(st, user):
            return directory
    return None


def give_sandbox(sandbox: Path, user: TaskUser) -> str | None:
    """Hand the sandbox to ``user``; a one-line reason why the task cannot run there, or
    None. Does nothing for a task that runs as the runner."""
    if not user.switched:
        return None
    blocked = untraversable(sandbox.parent, user)
    if blocked is not None:
        mode = _mode(blocked)
        return (f"the task's user {user.name} cannot reach its sandbox {sandbox}: "
                f"{blocked}{mode} is not searchable by it: make it so (chmod o+x {blocked}), "
                f"put the work dir under another directory, or {NOSETUID}")
    st = os.lstat(sandbox)
    if not stat.S_ISDIR(st.st_mode):
        return f"the sandbox {sandbox} is not a directory"
    if st.st_uid != user.uid or st.st_gid != user.gid:
        os.chown(sandbox, user.uid, user.gid, follow_symlinks=False)
    os.chmod(sandbox, 0o700)
    return None


def _mode(path: Path) -> str:
    try:
        return f" (mode {stat.S_IMODE(os.stat(path).st_mode):04o})"
    except OSError:
        return " (missing)"
