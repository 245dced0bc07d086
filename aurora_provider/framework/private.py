"""Files only the scheduler's user may read: its auth file, token file and store (0600).

A file found looser at start is tightened, with a log line saying so. Permissions keep
other users out; they cannot keep out a task that runs as the scheduler's own user (see
``docs/operations.md``, "What separates tasks from the scheduler").
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("aurora_provider.framework")

PRIVATE = 0o600


def keep_private(path: Path, what: str) -> None:
    """Make ``path`` (when it exists) readable and writable by its owner only."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    try:
        os.chmod(path, PRIVATE)
    except OSError as e:
        log.warning("%s %s is readable by others (mode %03o) and cannot be made 0600: %s",
                    what, path, mode, e.strerror or e)
        return
    log.warning("%s %s was readable by others (mode %03o): it is now 0600", what, path, mode)


def write_private(path: Path, text: str) -> None:
    """Write ``path`` whole (a new file renamed over the old one), 0600 from its first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(fd, PRIVATE)  # a leftover partial file may have been looser
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def create_private(path: Path) -> None:
    """Create ``path`` empty and 0600 unless it exists (so what opens it later, SQLite,
    starts from a private file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))


def write_private_once(path: Path, text: str) -> str:
    """Write ``path`` with ``text`` unless it exists, atomically: of several processes that
    race (replicas started together on one home), one writes and all get what it wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    write_private(partial, text)
    try:
        os.link(partial, path)  # fails when another got there first
    except FileExistsError:
        return path.read_text()
    finally:
        partial.unlink(missing_ok=True)
    return text

