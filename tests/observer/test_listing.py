"""The task list: selection, order and paging."""

from __future__ import annotations

from pathlib import Path

import pytest

from aurora_provider.states.executor_task import ExecutorTaskState
from aurora_provider.states.health import HealthState
from executor.api import TaskView
from observer_plugin.observer.errors import BadRequest
from observer_plugin.observer.index import IndexedTask
from observer_plugin.observer.listing import select

pytestmark = pytest.mark.unit


def _task(task_id: str, launch: float | None, state: str = "ACTIVE", job: str = "c/r/e/j",
          instance: int = 0) -> IndexedTask:  # fmt: skip
    view = TaskView(task_id=task_id, state=ExecutorTaskState(state), health=HealthState.NONE,
                    runner_pid=None, runner_alive=False, launch_time=launch, sandbox=None,
                    log_dir=None, hostname="h", job_key=job, instance=instance, ports={},
                    processes={}, statuses=())  # fmt: skip
    return IndexedTask(Path("/ck"), view, (0, 0, 0))


TASKS = [
    _task("a", 10.0, job="c/r/e/web", instance=1),
    _task("b", 30.0, "SUCCESS", job="c/r/e/web", instance=0),
    _task("c", 20.0, "CLEANING", job="c/r/e/api"),
    _task("d", 40.0, "FAILED", job="c/r/e/api"),
    _task("e", None),
]


def test_newest_launch_first_split_into_active_and_finished() -> None:
    page = select(TASKS)
    assert [t.task_id for t in page.tasks] == ["d", "b", "c", "a", "e"]
    assert page.ids() == {"active": ["c", "a", "e"], "finished": ["d", "b"]}
    assert (page.total, page.active, page.finished) == (5, 3, 2)


def test_types_and_sorts() -> None:
    assert select(TASKS, type="active").ids() == {"active": ["c", "a", "e"], "finished": []}
    assert select(TASKS, type="finished").ids() == {"active": [], "finished": ["d", "b"]}
    by_job = [t.task_id for t in select(TASKS, sort="job").tasks]
    assert by_job == ["d", "c", "e", "b", "a"]  # api (newest first), j, then web 0, web 1
    by_state = [(t.task_id, str(t.view.state)) for t in select(TASKS, sort="state").tasks]
    assert by_state == [("a", "ACTIVE"), ("e", "ACTIVE"), ("c", "CLEANING"),
                        ("d", "FAILED"), ("b", "SUCCESS")]  # fmt: skip


def test_paging_takes_num_tasks_from_offset_of_the_selection() -> None:
    page = select(TASKS, offset=1, num=2)
    assert [t.task_id for t in page.tasks] == ["b", "c"] and page.total == 5
    assert select(TASKS, type="active", offset=2, num=5).ids()["active"] == ["e"]
    assert select(TASKS, offset=10, num=5).tasks == []
    assert select(TASKS, num=0).tasks == []


@pytest.mark.parametrize("bad", [
    {"type": "running"}, {"sort": "cpu"}, {"offset": -1}, {"num": -2},
])  # fmt: skip
def test_bad_parameters_are_one_line_400s(bad: dict[str, object]) -> None:
    with pytest.raises(BadRequest) as e:
        select(TASKS, **bad)  # type: ignore[arg-type]
    assert "\n" not in str(e.value) and next(iter(bad)) in str(e.value)
