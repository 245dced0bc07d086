"""The one guard between a requested path and the disk: nothing outside the sandbox.

Browse, file, download and the log tail all go through ``resolve_inside``. A request path
is refused (403) when it is absolute, has a ``..`` component or a NUL byte, or when its
real path (every symlink followed) is not under the real path of the base directory; a
path that passes but does not exist is a 404. ``open_inside`` opens it with the executor's
``open_inside``, which re-checks the opened descriptor itself, so a symlink swapped in
between the check and the open is caught too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from executor.api import OutsideSandbox
from executor.api import open_inside as executor_open_inside

from .errors import BadRequest, Forbidden, NotFound


def _is_under(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def resolve_inside(base: str | os.PathLike[str], requested: str) -> Path:
    """The real path of ``requested`` (relative to ``base``), which must stay under ``base``.

    :raises Forbidden: the path leaves ``base`` (or is not a plain relative path).
    :raises NotFound: the path stays inside but nothing is there.
    """
    if "\x00" in requested:
        raise Forbidden(f"{requested!r}: a path may not hold a NUL byte")
    if requested.startswith("/") or requested.startswith("\\"):
        raise Forbidden(f"{requested}: absolute paths are refused; give one inside the sandbox")
    parts = [p for p in requested.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise Forbidden(f"{requested}: '..' is refused; give a path inside the sandbox")
    real_base = os.path.realpath(base)
    real = os.path.realpath(os.path.join(real_base, *parts))
    if not _is_under(real, real_base):
        raise Forbidden(f"{requested}: leads outside the sandbox")
    if not os.path.exists(real):
        raise NotFound(f"{requested or '/'}: no such file or directory in the sandbox")
    return Path(real)


def open_inside(base: str | os.PathLike[str], requested: str) -> BinaryIO:
    """``requested`` opened for reading through the executor's ``open_inside`` (the descriptor
    itself is checked, only regular files, never blocking), its refusals as HTTP errors."""
    real = resolve_inside(base, requested)
    if real.is_dir():
        raise BadRequest(f"{requested or '/'}: is a directory; browse it instead")
    try:
        return executor_open_inside(base, real)
    except OutsideSandbox as e:
        reason = "not a regular file" if "regular" in str(e) else "leads outside the sandbox"
        raise Forbidden(f"{requested}: {reason}") from e
    except FileNotFoundError as e:
        raise NotFound(f"{requested}: no such file in the sandbox") from e
    except OSError as e:
        raise Forbidden(f"{requested}: cannot be read ({e.strerror})") from e
