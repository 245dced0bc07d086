"""``executor.api.open_inside``: a file under a base directory, never through a link out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from executor.api import OutsideSandbox, open_inside

pytestmark = pytest.mark.unit


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    box = tmp_path / "sandbox"
    (box / "logs").mkdir(parents=True)
    (box / "logs" / "stdout").write_text("inside\n")
    (tmp_path / "secret").write_text("outside\n")
    return box


def test_a_file_inside_is_opened(sandbox: Path) -> None:
    with open_inside(sandbox, sandbox / "logs" / "stdout") as f:
        assert f.read() == b"inside\n"


def test_a_link_staying_inside_is_followed(sandbox: Path) -> None:
    (sandbox / "logs" / "again").symlink_to(sandbox / "logs" / "stdout")
    with open_inside(sandbox, sandbox / "logs" / "again") as f:
        assert f.read() == b"inside\n"


@pytest.mark.parametrize("how", ["file link", "directory link", "dot-dot", "absolute link"])
def test_a_path_leading_outside_is_refused(sandbox: Path, how: str) -> None:
    secret = sandbox.parent / "secret"
    if how == "file link":
        (sandbox / "logs" / "stderr").symlink_to(secret)
        path = sandbox / "logs" / "stderr"
    elif how == "directory link":
        (sandbox / "up").symlink_to(sandbox.parent)
        path = sandbox / "up" / "secret"
    elif how == "dot-dot":
        path = sandbox / "logs" / ".." / ".." / "secret"
    else:
        (sandbox / "passwd").symlink_to("/etc/passwd")
        path = sandbox / "passwd"
    with pytest.raises(OutsideSandbox, match="leads outside"):
        open_inside(sandbox, path)


def test_a_fifo_is_refused_without_blocking(sandbox: Path) -> None:
    os.mkfifo(sandbox / "logs" / "pipe")
    with pytest.raises(OutsideSandbox, match="not a regular file"):
        open_inside(sandbox, sandbox / "logs" / "pipe")


def test_a_missing_file_is_not_found(sandbox: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_inside(sandbox, sandbox / "logs" / "none")
