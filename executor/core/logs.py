"""Where a process's stdout and stderr go: Logger destinations and rotation.

``file`` (the default) hands the process the log files themselves, opened for appending, so
the logs survive the runner. ``console`` and ``both`` go through pipes the runner reads and
copies to its own stdout/stderr (and, for ``both``, to the files). ``none`` is /dev/null.

Rotation (``mode='rotate'``) keeps ``backups`` older files ``stdout.1``, ``stdout.2``...
The runner rotates a file the process writes directly by copy-and-truncate: the process's
descriptor is in append mode, so after the truncation it simply writes at the new end.
Thermos rotated at every write from its coordinator; we check at most once a second, so a
file may overshoot ``log_size`` by what the process writes in that second.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .spec import LoggerSpec

STREAMS = ("stdout", "stderr")


def run_log_dir(log_dir: Path, process: str, run: int) -> Path:
    return log_dir / process / str(run)


def rotate(path: Path, backups: int) -> None:
    """Shift ``path.1..`` up by one and move the current content to ``path.1``."""
    if backups <= 0:
        with open(path, "r+b") as f:
            f.truncate(0)
        return
    for i in range(backups - 1, 0, -1):
        src = path.with_name(f"{path.name}.{i}")
        if src.exists():
            os.replace(src, path.with_name(f"{path.name}.{i + 1}"))
    import shutil

    shutil.copyfile(path, path.with_name(f"{path.name}.1"))
    with open(path, "r+b") as f:
        f.truncate(0)


def rotate_if_needed(path: Path, logger: LoggerSpec) -> None:
    if logger.mode != "rotate" or logger.log_size <= 0:
        return
    try:
        if path.stat().st_size >= logger.log_size:
            rotate(path, logger.backups)
    except FileNotFoundError:
        pass


class Pump:
    """Copies one pipe of a process to the runner's console and/or a log file."""

    def __init__(self, fd: int, stream: str, logger: LoggerSpec, path: Path) -> None:
        self.fd = fd
        self._console = logger.destination in ("console", "both")
        self._file = open(path, "ab") if logger.destination == "both" else None  # noqa: SIM115
        self._path = path
        self._logger = logger
        self._out = sys.stdout.buffer if stream == "stdout" else sys.stderr.buffer

    def pump(self) -> bool:
        """Copy what is available; False at end of stream."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return True
        if not data:
            self.close()
            return False
        if self._console:
            self._out.write(data)
            self._out.flush()
        if self._file is not None:
            self._file.write(data)
            self._file.flush()
            if self._logger.mode == "rotate" and self._file.tell() >= self._logger.log_size > 0:
                self._file.close()
                rotate(self._path, self._logger.backups)
                self._file = open(self._path, "ab")  # noqa: SIM115
        return True

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self._file is not None:
            self._file.close()
            self._file = None
