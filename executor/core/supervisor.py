"""The live runs of a task: launching, watching (pidfds), reaping and killing them.

Every live run has a pidfd, readable once the run's session leader exits; that works for
our own children and for runs re-attached after a runner restart alike, so the runner
waits on descriptors and never polls pids. Our children are reaped with ``waitpid``
(their exit status); re-attached runs report through the wrapper's exit-code file.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from pathlib import Path
from typing import NamedTuple

from . import killer, procfs
from .launch import read_exit_code
from .logs import Pump

KILL_CONFIRM_TIMEOUT = 5.0


class Handle:
    """A live run being watched."""

    def __init__(
        self, process: str, run: int, pid: int, create_time: float | None, pidfd: int,
        child: bool, exit_file: Path, pumps: list[Pump],
    ) -> None:  # fmt: skip
        self.process = process
        self.run = run
        self.pid = pid
        self.create_time = create_time
        self.pidfd = pidfd
        self.child = child
        self.exit_file = exit_file
        self.pumps = pumps
        self.terminated = False  # we sent it SIGTERM/SIGKILL


class Exit(NamedTuple):
    process: str
    run: int
    return_code: int | None  # negative: killed by that signal; None: unknown
    terminated: bool


class Supervisor:
    def __init__(self) -> None:
        self.handles: dict[str, Handle] = {}
        # Processes of trees we signalled, watched through pidfds too: descendants can
        # outlive their session leader and must be gone before the task moves on.
        self._signalled: dict[int, tuple[float | None, int]] = {}  # pid -> (start, pidfd)
        # Sessions of runs being torn down: rescanned once their known members are gone, for
        # processes forked while the SIGTERMs were on their way.
        self._sessions: set[int] = set()

    def watch(
        self,
        process: str,
        run: int,
        pid: int,
        create_time: float | None,
        *,
        child: bool,
        exit_file: Path,
        pumps: list[Pump] | None = None,
    ) -> bool:
        """Start watching a run; False if it is already gone (re-attach case)."""
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return False
        if not child and not procfs.is_alive(pid, create_time):
            os.close(pidfd)
            return False
        self.handles[process] = Handle(
            process, run, pid, create_time, pidfd, child, exit_file, pumps or []
        )
        return True

    def fds(self) -> list[int]:
        result = []
        for h in self.handles.values():
            result.append(h.pidfd)
            result.extend(p.fd for p in h.pumps if p.fd >= 0)
        result.extend(fd for _, fd in self._signalled.values())
        return result

    def on_readable(self, ready: set[int]) -> list[Exit]:
        """Pump logs and collect the runs whose leader exited."""
        for pid, (_, fd) in list(self._signalled.items()):
            if fd in ready:
                os.close(fd)
                del self._signalled[pid]
        exits = []
        for handle in list(self.handles.values()):
            for pump in handle.pumps:
                if pump.fd in ready:
                    pump.pump()
            if handle.pidfd in ready:
                exits.append(self._reap(handle))
        return exits

    def _sweep(self, handle: Handle) -> None:
        """Deal with what a run left in its session once its leader has exited.

        A run being torn down is left to ``stragglers``, which rescans all torn-down
        sessions at once and SIGTERMs what it finds (a SIGTERM that reached a leader while
        it was still forking would otherwise leave the child running). A run that ended
        by itself has its leftovers SIGKILLed, as Thermos cleaned up a finished tree.
        """
        if handle.terminated:
            return  # one rescan of every torn-down session follows (``stragglers``)
        for pid, created in killer.leftovers([handle.pid])[handle.pid]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            if pid not in self._signalled:  # confirmed gone before the task ends
                with contextlib.suppress(OSError):
                    self._signalled[pid] = (created, os.pidfd_open(pid))

    def _reap(self, handle: Handle, block: bool = True) -> Exit:
        rc: int | None = None
        if handle.child:
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(handle.pid, 0 if block else os.WNOHANG)
                rc = os.waitstatus_to_exitcode(status)
        else:
            rc = read_exit_code(handle.exit_file)
        for pump in handle.pumps:
            while pump.fd >= 0 and pump.pump():
                pass
            pump.close()
        os.close(handle.pidfd)
        del self.handles[handle.process]
        self._sweep(handle)
        return Exit(handle.process, handle.run, rc, handle.terminated)

    def terminate(self, processes: list[str], sig: int = signal.SIGTERM) -> None:
        handles = [self.handles[n] for n in processes if n in self.handles]
        for handle in handles:
            handle.terminated = True
            self._sessions.add(handle.pid)
        targets = [(h.pid, h.create_time) for h in handles]
        leaders = {h.pid for h in handles}
        for pid, created in killer.signal_trees(targets, sig):
            if pid in leaders or pid in self._signalled:
                continue
            with contextlib.suppress(OSError):
                self._signalled[pid] = (created, os.pidfd_open(pid))

    def stragglers(self) -> list[int]:
        """Processes of signalled trees still alive (descendants can outlive the leader)."""
        self._prune()
        if not self._signalled and self._sessions:
            gone = sorted(self._sessions - {h.pid for h in self.handles.values()})
            for leader, left in killer.leftovers(gone).items():
                if not left:
                    self._sessions.discard(leader)
                for pid, created in left:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGTERM)
                        self._signalled[pid] = (created, os.pidfd_open(pid))
            self._prune()
        return list(self._signalled)

    def _prune(self) -> None:
        for pid, (created, fd) in list(self._signalled.items()):
            if not procfs.is_alive(pid, created):
                os.close(fd)
                del self._signalled[pid]

    def kill_all(self) -> list[Exit]:
        """SIGKILL every live tree and straggler; the exits of the live runs."""
        self.terminate(list(self.handles), signal.SIGKILL)
        self._confirm([h.pidfd for h in self.handles.values() if not h.child])
        exits = [self._reap(handle) for handle in list(self.handles.values())]
        self._confirm([])  # and whatever the reaped runs left in their sessions
        self._sessions.clear()  # their leaders' pids may be reused from now on
        return exits

    def _confirm(self, fds: list[int]) -> None:
        """SIGKILL the stragglers and wait until they and ``fds`` are gone (pidfds fire)."""
        for pid in self.stragglers():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_CONFIRM_TIMEOUT
        pending = fds + [fd for _, fd in self._signalled.values()]
        while pending and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(pending, [], [], left)
            pending = [fd for fd in pending if fd not in ready]
        self.stragglers()

    def close(self) -> None:
        for _, fd in self._signalled.values():
            os.close(fd)
        self._signalled.clear()
        for handle in self.handles.values():
            os.close(handle.pidfd)
            for pump in handle.pumps:
                pump.close()
        self.handles.clear()


def exit_reason(rc: int | None) -> str | None:
    """Why a run ended, in words (None for a clean exit)."""
    if rc is None:
        return "exit status unknown (killed while no runner watched)"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    if rc == 0:
        return None
    if rc == 127:
        return "command not found (exit status 127)"
    if rc == 126:
        return "command not executable (exit status 126)"
    return f"exit status {rc}"
