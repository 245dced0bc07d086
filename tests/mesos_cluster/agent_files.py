"""The agent's files API, as a real agent serves its sandboxes: ``/files/read`` and
``/files/browse`` (what the scheduler reads task logs through).

``read?path=P&offset=O&length=L`` answers ``{"data": ..., "offset": O}``; ``offset=-1``
answers the file's size as the offset, with no data. ``browse?path=D`` lists a directory.
Only paths inside the agent's work dir (its sandboxes) are served; anything else, or a
path that does not exist, is 404, as an agent answers for a path it has not attached.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

MAX_LENGTH = 16 * 2**20  # the most one read returns, as a page of a real agent's reads


def _served(root: Path, text: str | None) -> Path | None:
    """The real path of ``text`` if it lies under ``root`` (symlinks resolved first)."""
    if not text:
        return None
    try:
        path = Path(text).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return path if path.is_relative_to(root.resolve()) else None


def _int(request: Request, name: str, default: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def read(root: Path, request: Request) -> Response:
    path = _served(root, request.query_params.get("path"))
    if path is None or not path.is_file():
        return PlainTextResponse("", 404)
    offset, length = _int(request, "offset", 0), _int(request, "length", MAX_LENGTH)
    if offset is None or length is None or length < 0:
        return PlainTextResponse("Failed to parse offset/length", 400)
    size = path.stat().st_size
    if offset == -1:
        return JSONResponse({"data": "", "offset": size})
    if offset < 0:
        return PlainTextResponse("Negative offset provided", 400)
    with open(path, "rb") as f:
        f.seek(min(offset, size))
        data = f.read(min(length, MAX_LENGTH))
    return JSONResponse({"data": data.decode(errors="replace"), "offset": offset})


def browse(root: Path, request: Request) -> Response:
    path = _served(root, request.query_params.get("path"))
    if path is None or not path.is_dir():
        return PlainTextResponse("", 404)
    entries = []
    for child in sorted(path.iterdir()):
        try:
            st = child.lstat()
        except OSError:
            continue
        entries.append({"path": str(child), "nlink": st.st_nlink, "size": st.st_size,
                        "mtime": st.st_mtime, "mode": stat.filemode(st.st_mode),
                        "uid": str(st.st_uid), "gid": str(st.st_gid)})
    return JSONResponse(entries)


def work_root(work_dir: str) -> Path:
    root = Path(work_dir or os.getcwd())
    root.mkdir(parents=True, exist_ok=True)
    return root
