"""The task index: several roots, views re-read only when their stream changed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from observer_plugin.observer.index import TaskIndex

from .streams import finish, write_task

pytestmark = pytest.mark.unit


def _ids(index: TaskIndex) -> set[str]:
    return {t.task_id for t in index.refresh()}


def test_tasks_of_every_root_are_listed_once(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_task(a, "t1", launch=1.0)
    write_task(b, "t2", launch=2.0, finished=True)
    write_task(b, "t1", launch=3.0, job_key="c/r/e/other")  # same id: the first root wins
    (a / "not-a-task").mkdir()
    (a / "stray-file").write_text("")
    index = TaskIndex([a, b, tmp_path / "missing"])
    tasks = {t.task_id: t for t in index.refresh()}
    assert set(tasks) == {"t1", "t2"}
    assert tasks["t1"].root == a and tasks["t1"].view.job_key == "c/r/e/j"
    assert tasks["t1"].active and not tasks["t2"].active


def test_a_view_is_read_again_only_when_its_stream_changed(tmp_path: Path) -> None:
    root = tmp_path / "ck"
    write_task(root, "active", launch=1.0)
    write_task(root, "done", launch=2.0, finished=True)
    index = TaskIndex([root])
    index.refresh()
    assert index.replays == 2
    index.refresh()
    assert index.get("active") is not None and index.get("done") is not None
    assert index.replays == 2  # nothing changed: nothing read

    finish(root, "active", 5.0)
    task = index.get("active")
    assert task is not None and not task.active and index.replays == 3
    index.refresh()
    assert index.replays == 3

    # A finished task's view is final: even a touched stream is not read again.
    os.utime(root / "done" / "runner.ckpt", (10.0, 10.0))
    index.refresh()
    assert index.replays == 3


def test_removed_tasks_leave_the_index(tmp_path: Path) -> None:
    root = tmp_path / "ck"
    write_task(root, "done", launch=1.0, finished=True)
    write_task(root, "active", launch=2.0)
    index = TaskIndex([root])
    assert _ids(index) == {"done", "active"}
    shutil.rmtree(root / "done")
    assert index.get("done") is None
    shutil.rmtree(root / "active")
    assert _ids(index) == set()


def test_new_tasks_are_found_by_id_and_ids_never_name_paths(tmp_path: Path) -> None:
    root = tmp_path / "ck"
    index = TaskIndex([root])
    assert index.refresh() == []
    write_task(root, "late", launch=1.0)
    task = index.get("late")
    assert task is not None and task.view.launch_time == 1.0
    write_task(tmp_path, "outside", launch=1.0)  # a stream next to the root, not under it
    assert index.get("../outside") is None and index.get("/etc") is None
