"""Process identity from /proc, without psutil (cheap enough for the hot path).

A pid alone is not an identity (pids are reused); a pid plus its start time is. The start
time is computed as psutil does (boot time + start ticks / clock ticks), so the two agree.
"""

from __future__ import annotations

import os

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_boot_time: float | None = None


def _btime() -> float:
    global _boot_time
    if _boot_time is None:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime"):
                    _boot_time = float(line.split()[1])
                    break
            else:  # pragma: no cover - every Linux has btime
                _boot_time = 0.0
    return _boot_time


def _stat_fields(pid: int) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return data[data.rfind(b")") + 2 :].split()


def create_time(pid: int) -> float | None:
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return _btime() + int(fields[19]) / _CLK_TCK


def is_alive(pid: int, created: float | None) -> bool:
    """The process ``pid`` started at ``created`` still exists and is not a zombie."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in (b"Z", b"X"):
        return False
    if created is None:
        return True
    return abs(_btime() + int(fields[19]) / _CLK_TCK - created) < 0.05


def process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) of every live process, from one pass over /proc."""
    result: dict[int, tuple[int, int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields is not None and fields[0] not in (b"Z", b"X"):
                result[int(name)] = (int(fields[1]), int(fields[3]))
    return result


def descendants(
    roots: list[int], table: dict[int, tuple[int, int]] | None = None
) -> dict[int, list[int]]:
    """For each root, every process below it, and every process left in its session.

    Each run leads its own session, so a process whose parent already died (reparented to
    init) is still found by its session id, which is the leader's pid.
    """
    table = process_table() if table is None else table
    children: dict[int, list[int]] = {}
    sessions: dict[int, list[int]] = {}
    for pid, (ppid, sid) in table.items():
        children.setdefault(ppid, []).append(pid)
        sessions.setdefault(sid, []).append(pid)
    result = {}
    for root in roots:
        found: list[int] = []
        queue = list(children.get(root, ()))
        while queue:
            pid = queue.pop(0)
            found.append(pid)
            queue.extend(children.get(pid, ()))
        seen = set(found)
        found += [pid for pid in sessions.get(root, ()) if pid != root and pid not in seen]
        result[root] = found
    return result
