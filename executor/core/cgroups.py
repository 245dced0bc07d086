"""RAM and CPU limits through cgroup v2, as Mesos's cgroups isolators gave Thermos tasks.

The runner looks for a group it may delegate from (``find_parent``): the cgroup v2 mount
(``/proc/self/mounts``), its own group in it (the ``0::`` line of ``/proc/self/cgroup``),
the ``memory`` and ``cpu`` controllers listed in that group's ``cgroup.controllers`` and
enabled (or enabled now) in its ``cgroup.subtree_control``. cgroup v2 lets only the root
group hold processes and enable controllers for children at once, so a runner elsewhere
is given a delegated group with no processes of its own (``--cgroup-parent``: ``usable``).
Every check that fails is the reason given, in one line, for running without limits.

A task then gets its own child group (``TaskCgroup``), ``thermos-<task id>``, with
``memory.max`` its RAM, ``memory.swap.max`` 0 (so that going over means the OOM killer, not
swapping) and ``cpu.max`` a CFS quota of its CPU share. Each run's wrapper moves itself into
the group's ``cgroup.procs`` before it starts the command, so nothing the task forks escapes
the limits. The OOM kills the kernel did are counted in ``memory.events``.

Every function takes the paths it reads and writes, so the decisions can be checked against
a directory laid out like a cgroup v2 tree.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import NamedTuple

CONTROLLERS = ("memory", "cpu")
CPU_PERIOD_USECS = 100_000  # the kernel's default CFS period
MIN_CPU_QUOTA_USECS = 1_000  # the kernel refuses a quota under 1 ms
GROUP_PREFIX = "thermos-"


class Unavailable(NamedTuple):
    """Why the runner cannot limit a task through cgroup v2 (the check that failed)."""

    reason: str


def v2_mount(mounts: str) -> Path | None:
    """Where the cgroup v2 hierarchy is mounted, from ``/proc/self/mounts``' text."""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return Path(fields[1].replace("\\040", " "))
    return None


def own_group(proc_cgroup: str) -> str | None:
    """This process's group in the v2 hierarchy, from ``/proc/self/cgroup``'s text."""
    for line in proc_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            return path
    return None


def find_parent(mounts: str, proc_cgroup: str, *, root: Path = Path("/")) -> Path | Unavailable:
    """The group tasks' groups are made in, or why there is none.

    :param mounts: ``/proc/self/mounts``' text.
    :param proc_cgroup: ``/proc/self/cgroup``'s text.
    :param root: what the mount point is under (``/``; a temporary directory in tests).
    """
    mount = v2_mount(mounts)
    if mount is None:
        return Unavailable("no cgroup v2 hierarchy is mounted (/proc/self/mounts)")
    group = own_group(proc_cgroup)
    if group is None:
        return Unavailable("this process is in no cgroup v2 group (/proc/self/cgroup has no "
                           "0:: line)")  # fmt: skip
    return usable(root / mount.relative_to("/") / group.lstrip("/"))


def usable(parent: Path) -> Path | Unavailable:
    """``parent`` once it offers the controllers to its children, or why it cannot."""
    try:
        available = (parent / "cgroup.controllers").read_text().split()
    except OSError as e:
        return Unavailable(f"cannot read {parent / 'cgroup.controllers'}: {e.strerror or e}")
    missing = [c for c in CONTROLLERS if c not in available]
    if missing:
        listed = " ".join(available) or "none"
        names = " and ".join(missing) + (" controllers" if len(missing) > 1 else " controller")
        return Unavailable(f"{parent} does not offer the {names} (its cgroup.controllers "
                           f"lists {listed})")  # fmt: skip
    problem = _enable(parent / "cgroup.subtree_control")
    if problem is not None:
        return Unavailable(problem)
    if not os.access(parent, os.W_OK | os.X_OK):
        return Unavailable(f"{parent} is not writable by this process: no group can be made in it")
    return parent


def _enable(subtree_control: Path) -> str | None:
    """Enable the controllers for the parent's children; what went wrong, if anything."""
    try:
        enabled = subtree_control.read_text().split()
    except OSError as e:
        return f"cannot read {subtree_control}: {e.strerror or e}"
    wanted = [c for c in CONTROLLERS if c not in enabled]
    if not wanted:
        return None
    try:
        subtree_control.write_text(" ".join(f"+{c}" for c in wanted))
    except OSError as e:
        # EBUSY: the group holds processes (the runner's own), which cgroup v2 forbids
        # beside controllers for children unless it is the root group.
        return (f"cannot enable {' and '.join(wanted)} in {subtree_control}: "
                f"{e.strerror or e}")  # fmt: skip
    return None


def limit_values(ram: int, cpu: float) -> dict[str, str]:
    """What is written into a task's group for ``ram`` bytes and ``cpu`` cores (0: no limit)."""
    values: dict[str, str] = {}
    if ram > 0:
        values["memory.max"] = str(ram)
        values["memory.swap.max"] = "0"
    if cpu > 0:
        quota = max(MIN_CPU_QUOTA_USECS, round(cpu * CPU_PERIOD_USECS))
        values["cpu.max"] = f"{quota} {CPU_PERIOD_USECS}"
    return values


class TaskCgroup:
    """The group of one task's processes.

    :param path: the group's directory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, parent: Path, task_id: str, *, ram: int, cpu: float) -> TaskCgroup:
        """Make (or reuse, for a resumed task) the task's group and set its limits; raises
        ``OSError`` when a limit cannot be written."""
        group = cls(parent / f"{GROUP_PREFIX}{task_id}")
        group.path.mkdir(exist_ok=True)
        for name, value in limit_values(ram, cpu).items():
            target = group.path / name
            if name == "memory.swap.max" and not target.exists():
                continue  # a kernel without swap accounting: memory.max is the whole limit
            target.write_text(value)
        return group

    @property
    def procs(self) -> Path:
        """The file a process writes its pid (or 0, itself) into to join the group."""
        return self.path / "cgroup.procs"

    def oom_kills(self) -> int:
        """How many of the group's processes the OOM killer killed (0 if unknown)."""
        try:
            text = (self.path / "memory.events").read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def remove(self) -> None:
        """Remove the group once it is empty (the kernel refuses before: kept then)."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


def detect(parent: Path | None = None) -> Path | Unavailable:
    """``find_parent`` for this process, or ``usable(parent)`` for a group named by hand."""
    if parent is not None:
        return usable(parent)
    try:
        mounts = Path("/proc/self/mounts").read_text()
        proc_cgroup = Path("/proc/self/cgroup").read_text()
    except OSError as e:
        return Unavailable(f"cannot read /proc/self: {e.strerror or e}")
    return find_parent(mounts, proc_cgroup)
