"""Killing whole process trees: SIGTERM first, SIGKILL after a grace period.

A run's tree is its session leader (identified by pid *and* start time, so a reused pid is
never signalled), every descendant, and whatever else is left in the run's session (each run
leads its own session, so descendants whose parent already died are still found). Trees
are found from one pass over /proc for all the runs being killed: psutil's ``children()``
reads the whole process table once per call, which made stopping ten processes cost tens of
milliseconds. psutil measures resources.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

from . import procfs

Member = tuple[int, float | None]  # (pid, start time)


def trees(targets: Iterable[Member]) -> dict[int, list[Member]]:
    """For each live root, the members of its tree (root first)."""
    roots = [(pid, created) for pid, created in targets if procfs.is_alive(pid, created)]
    below = procfs.descendants([pid for pid, _ in roots]) if roots else {}
    return {
        pid: [(pid, created)] + [(p, procfs.create_time(p)) for p in below[pid]]
        for pid, created in roots
    }


def leftovers(leaders: list[int]) -> dict[int, list[Member]]:
    """Processes still in the sessions of runs whose leaders have exited (one /proc pass).

    A run's process group (same id as its session) that no longer exists needs no scan: the
    common case costs one ``killpg(leader, 0)``.
    """
    below: dict[int, list[int]] = {p: [] for p in leaders if not _group_exists(p)}
    rest = [leader for leader in leaders if leader not in below]
    if rest:
        below.update(procfs.descendants(rest))
    return {
        leader: [(pid, created) for pid in members if (created := procfs.create_time(pid))]
        for leader, members in below.items()
    }


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (permission denied)
    return True


def signal_trees(targets: Iterable[Member], sig: int) -> list[Member]:
    """Send ``sig`` to every member of every tree; the members signalled."""
    signalled: list[Member] = []
    for root, members in trees(targets).items():
        for pid, created in members:
            if created is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, sig)
                    signalled.append((pid, created))
        with contextlib.suppress(OSError):
            os.killpg(root, sig)
    return signalled


def alive(members: Iterable[Member]) -> list[Member]:
    """Those still running (zombies count as gone)."""
    return [(pid, created) for pid, created in members if procfs.is_alive(pid, created)]


def kill_trees(targets: Iterable[Member], grace: float, poll: float = 0.02) -> list[int]:
    """SIGTERM every tree, wait up to ``grace`` s, SIGKILL what is left; the pids SIGKILLed."""
    left = signal_trees(targets, signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = alive(left)
    while left and time.monotonic() < deadline:
        time.sleep(poll)
        left = alive(left)
    for pid, _ in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return [pid for pid, _ in left]
