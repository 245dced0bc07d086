"""Where a process's stdout and stderr go: Logger destinations and rotation.

``file`` (the default) hands the process the log files themselves, opened for appending, so
the logs survive the runner. ``console`` and ``both`` go through pipes the runner reads and
copies to its own stdout/stderr (and, for ``both``, to the files). ``none`` is /dev/null.

Rotation (``mode='rotate'``) keeps ``backups`` older files ``stdout.1``, ``stdout.2``...
The runner rotates a file the process writes directly by copy-and-truncate: the process's
descriptor is in append mode, so after the truncation it simply writes at the new end.
Thermos rotated at every write from its coordinator; we check at most once a second, so a
file may overshoot ``log_size`` by what the process writes in that second.

The task owns its sandbox and may swap any directory of it (``.logs`` included) for a
symlink, while the runner that creates, appends to and rotates the logs may be root: every
such operation goes through a descriptor of the run's log directory reached from the sandbox
one component at a time without following a link (``open_dir``), and names a file in it
without following one either, so nothing is ever written through a task's link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from .spec import LoggerSpec

STREAMS = ("stdout", "stderr")
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC


def run_log_dir(log_dir: Path, process: str, run: int) -> Path:
    return log_dir / process / str(run)


def open_dir(base: Path, path: Path, *, create: bool = False) -> int:
    """A descriptor of the directory ``path`` under ``base`` (made, with ``create``), each
    component below ``base`` opened without following a link.

    :raises OSError: ``path`` is not under ``base`` (EXDEV), or a component is a link or
        not a directory (ELOOP, ENOTDIR), or is missing.
    """
    try:
        parts = Path(os.path.normpath(path)).relative_to(os.path.normpath(base)).parts
    except ValueError:
        raise OSError(errno.EXDEV, f"{path} is not under {base}") from None
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            child = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def rotate_in(dir_fd: int, name: str, backups: int) -> None:
    """Shift ``name.1..`` up by one and move the current content of ``name`` to ``name.1``,
    in the directory ``dir_fd``, following no link."""
    if backups > 0:
        for i in range(backups - 1, 0, -1):
            with contextlib.suppress(FileNotFoundError):  # renaming a link follows nothing
                os.replace(f"{name}.{i}", f"{name}.{i + 1}", src_dir_fd=dir_fd,
                           dst_dir_fd=dir_fd)
        src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{name}.1", dir_fd=dir_fd)
            dst = os.open(f"{name}.1", APPEND | os.O_EXCL, 0o644, dir_fd=dir_fd)
            try:
                while chunk := os.read(src, 1 << 20):
                    os.write(dst, chunk)
            finally:
                os.close(dst)
        finally:
            os.close(src)
    fd = os.open(name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def rotate_if_needed(path: Path, logger: LoggerSpec, base: Path | None = None) -> None:
    """Rotate ``path`` once it has outgrown the logger's size; ``base``, the directory the
    walk to it starts from (by default that of the log dir, the sandbox), is trusted."""
    if logger.mode != "rotate" or logger.log_size <= 0:
        return
    try:
        fd = open_dir(base or path.parents[3], path.parent)
    except OSError:
        return  # gone, or a link: nothing of ours to rotate
    try:
        st = os.stat(path.name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISREG(st.st_mode) and st.st_size >= logger.log_size:
            rotate_in(fd, path.name, logger.backups)
    except OSError:
        pass
    finally:
        os.close(fd)


class Pump:
    """Copies one pipe of a process to the runner's console and/or a log file."""

    def __init__(self, fd: int, stream: str, logger: LoggerSpec, path: Path,
                 dir_fd: int = -1) -> None:
        """:param dir_fd: the run's log directory (``open_dir``), duplicated here for
            ``both``; -1: ``path``'s own directory, opened by path (tests)."""
        self.fd = fd
        self._console = logger.destination in ("console", "both")
        self._name = path.name
        self._dir = -1
        self._file = None
        if logger.destination == "both":
            self._dir = (os.dup(dir_fd) if dir_fd >= 0 else
                         os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
            self._file = self._open()
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
                try:
                    rotate_in(self._dir, self._name, self._logger.backups)
                finally:
                    self._file = self._open()
        return True

    def _open(self) -> BinaryIO:
        fd = os.open(self._name, APPEND, 0o644, dir_fd=self._dir)
        return os.fdopen(fd, "ab")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._dir >= 0:
            os.close(self._dir)
            self._dir = -1
