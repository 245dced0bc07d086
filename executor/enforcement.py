"""The resource-enforcement options, declared once for every executor command line.

``thermos run``, ``aurora-executor`` and the runner they spawn (``executor.runner_main``)
take the same flags: the first two add them with ``add_arguments`` and hand them on to the
runner with ``runner_argv``. Kept free of imports: the runner parses its argv without
argparse.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# Thermos measured each sandbox once a minute (its TaskResourceMonitor's disk interval).
DEFAULT_DISK_INTERVAL = 60.0

DISK_INTERVAL_FLAG = "--disk-collection-interval-secs"
NO_DISK_FLAG = "--no-enforce-disk-quota"  # after the Mesos agent's --enforce_container_disk_quota
NO_CGROUPS_FLAG = "--no-cgroup-limits"
CGROUP_PARENT_FLAG = "--cgroup-parent"


class Enforcement(NamedTuple):
    """What the runner enforces of the task's resources.

    :param disk: fail the task when its sandbox grows past its disk resource.
    :param disk_interval: seconds between measurements of the sandbox.
    :param cgroups: limit RAM and CPU through a cgroup v2 group, when one can be made.
    :param cgroup_parent: the cgroup v2 group (a directory) tasks' groups are made in; by
        default the runner's own.
    """

    disk: bool = True
    disk_interval: float = DEFAULT_DISK_INTERVAL
    cgroups: bool = True
    cgroup_parent: str | None = None

    def runner_argv(self) -> list[str]:
        """These options as ``executor.runner_main`` arguments (only what differs)."""
        argv: list[str] = []
        if self.disk_interval != DEFAULT_DISK_INTERVAL:
            argv += [DISK_INTERVAL_FLAG, repr(self.disk_interval)]
        if not self.disk:
            argv.append(NO_DISK_FLAG)
        if not self.cgroups:
            argv.append(NO_CGROUPS_FLAG)
        if self.cgroup_parent is not None:
            argv += [CGROUP_PARENT_FLAG, self.cgroup_parent]
        return argv


def add_arguments(parser: Any) -> None:
    """Add the options to an ``argparse`` parser."""
    parser.add_argument(DISK_INTERVAL_FLAG, type=positive_seconds,
                        default=DEFAULT_DISK_INTERVAL, metavar="SECONDS",
                        help="how often the sandbox's disk use is measured and checked against "
                             f"the task's disk resource (default {DEFAULT_DISK_INTERVAL:g})")
    parser.add_argument(NO_DISK_FLAG, action="store_true",
                        help="measure the sandbox but never fail a task for its disk use")
    parser.add_argument(NO_CGROUPS_FLAG, action="store_true",
                        help="run tasks without cgroup v2 RAM and CPU limits")
    parser.add_argument(CGROUP_PARENT_FLAG, metavar="DIR",
                        help="the delegated cgroup v2 group tasks' groups are made in "
                             "(default: the runner's own, which works only at the root)")


def from_args(args: Any) -> Enforcement:
    """The options an ``add_arguments`` parser (or the runner's own parser) parsed."""
    return Enforcement(disk=not args.no_enforce_disk_quota,
                       disk_interval=float(args.disk_collection_interval_secs),
                       cgroups=not args.no_cgroup_limits,
                       cgroup_parent=args.cgroup_parent)  # fmt: skip


def positive_seconds(text: str) -> float:
    """A number of seconds above zero (``ValueError`` otherwise, which argparse reports)."""
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value
