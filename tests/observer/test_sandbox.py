"""The path guard: nothing outside the sandbox, whatever the request path says."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from observer_plugin.observer.errors import BadRequest, Forbidden, NotFound
from observer_plugin.observer.sandbox import open_inside, resolve_inside

pytestmark = pytest.mark.unit


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    box = tmp_path / "sandbox"
    (box / "dir").mkdir(parents=True)
    (box / "dir" / "file.txt").write_text("inside")
    (tmp_path / "secret").write_text("outside")
    (box / "to_etc").symlink_to("/etc")
    (box / "to_secret").symlink_to(tmp_path / "secret")
    (box / "to_dir").symlink_to(box / "dir")
    (box / "dangling").symlink_to(box / "nowhere")
    return box


def test_paths_inside_resolve_to_their_real_path(sandbox: Path) -> None:
    assert resolve_inside(sandbox, "dir/file.txt") == sandbox / "dir" / "file.txt"
    assert resolve_inside(sandbox, "") == sandbox
    assert resolve_inside(sandbox, "./dir//file.txt") == sandbox / "dir" / "file.txt"
    assert resolve_inside(sandbox, "to_dir/file.txt") == sandbox / "dir" / "file.txt"


@pytest.mark.parametrize("path", [
    "..", "../secret", "dir/../../secret", "dir/../file.txt", "/etc/passwd", "//etc/passwd",
    "to_etc", "to_etc/passwd", "to_secret", "a\x00b",
])  # fmt: skip
def test_paths_leaving_the_sandbox_are_refused(sandbox: Path, path: str) -> None:
    with pytest.raises(Forbidden):
        resolve_inside(sandbox, path)
    with pytest.raises(Forbidden):
        open_inside(sandbox, path).close()


def test_a_sandbox_reached_through_a_symlink_is_still_its_own_base(
    sandbox: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link_to_sandbox"
    link.symlink_to(sandbox)
    assert resolve_inside(link, "dir/file.txt") == sandbox / "dir" / "file.txt"
    with pytest.raises(Forbidden):
        resolve_inside(link, "to_secret")


def test_missing_files_are_404_and_directories_are_not_files(sandbox: Path) -> None:
    for path in ("missing", "dir/missing", "dangling"):
        with pytest.raises(NotFound):
            resolve_inside(sandbox, path)
    with pytest.raises(BadRequest):
        open_inside(sandbox, "dir")
    with open_inside(sandbox, "to_dir/file.txt") as f:
        assert f.read() == b"inside"


def test_only_regular_files_are_opened(sandbox: Path) -> None:
    os.mkfifo(sandbox / "fifo")  # opening it for reading would block a plain open()
    with pytest.raises(Forbidden, match="not a regular file"):
        open_inside(sandbox, "fifo")
