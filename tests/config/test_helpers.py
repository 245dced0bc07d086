"""The DSL helpers: order, SequentialTask, SimpleTask, Tasks, Units, Processes, Options."""

from __future__ import annotations

import pytest

from aurora_provider.config.helpers import (
    BYTES,
    GB,
    MB,
    Options,
    Processes,
    SequentialTask,
    SimpleTask,
    Tasks,
    Units,
    combine_tasks,
    concat_tasks,
    java_options,
    order,
    python_options,
)
from aurora_provider.config.schema import Constraint, Process, Resources, Task

pytestmark = pytest.mark.unit


def orders(task: Task) -> list[list[str]]:
    return [list(c.order().get()) for c in task.constraints()]


def names(task: Task) -> list[str]:
    return [p.name().get() for p in task.processes()]


def test_order_takes_processes_or_names_and_concatenates() -> None:
    a, b = Process(name="a", cmdline="x"), Process(name="b", cmdline="y")
    assert order(a, "b") == [Constraint(order=["a", "b"])]
    assert order(a, b) + order(b, "c") == [Constraint(order=["a", "b"]),
                                           Constraint(order=["b", "c"])]
    assert Processes.order is not None and order == Processes.order


def test_order_rejects_other_values() -> None:
    with pytest.raises(ValueError, match="Process objects or process names"):
        order(3)


def test_simple_task_has_one_process_and_default_resources() -> None:
    task = SimpleTask("hello", "echo hello")
    assert task.name().get() == "hello"
    assert names(task) == ["hello"]
    assert task.processes()[0].cmdline().get() == "echo hello"
    assert task.resources() == Resources(cpu=1.0, ram=1 * GB, disk=1 * GB)


def test_sequential_task_orders_processes_in_list_order() -> None:
    task = SequentialTask(processes=[Process(name=n, cmdline=n) for n in ("x", "y", "z")])
    assert orders(task) == [["x", "y", "z"]]


def test_sequential_task_without_processes_is_left_alone() -> None:
    assert SequentialTask(name="empty").constraints().get() == ()


def test_sequential_task_refuses_existing_constraints() -> None:
    with pytest.raises(ValueError, match="SequentialTask cannot take constraints"):
        SequentialTask(processes=[Process(name="a", cmdline="a")], constraints=order("a"))


def test_resources_sum_and_max_treat_missing_as_zero() -> None:
    r1 = Resources(cpu=1.0, ram=1 * GB, disk=2 * GB, gpu=1)
    r2 = Resources(cpu=0.5, ram=3 * GB, disk=1 * GB)
    assert Units.resources_sum(r1, r2) == Resources(cpu=1.5, ram=4 * GB, disk=3 * GB, gpu=1)
    assert Units.resources_max(r1, r2) == Resources(cpu=1.0, ram=3 * GB, disk=2 * GB, gpu=1)
    # Aurora called resources_max with one iterable: both forms work.
    assert Units.resources_max([r1, r2]) == Units.resources_max(r1, r2)
    assert Units.resources_sum(r1, Resources()) == Resources(cpu=1.0, ram=1 * GB, disk=2 * GB,
                                                             gpu=1)
    assert Units.resources_sum() == Resources(cpu=0, ram=0, disk=0, gpu=0)


def test_combine_runs_tasks_side_by_side() -> None:
    t1 = SimpleTask("a", "echo a")
    t2 = SequentialTask(
        name="b",
        processes=[Process(name="b1", cmdline="1"), Process(name="b2", cmdline="2")],
        resources=Resources(cpu=0.5, ram=512 * MB, disk=512 * MB),
        finalization_wait=45,
    )
    both = combine_tasks(t1, t2)
    assert names(both) == ["a", "b1", "b2"]
    assert orders(both) == [["b1", "b2"]]
    assert both.resources() == Resources(cpu=1.5, ram=1536 * MB, disk=1536 * MB, gpu=0)
    # As in Aurora, the combination keeps the identity of the last task.
    assert both.name().get() == "b"
    assert both.finalization_wait().get() == 45
    assert Tasks.combine is not None and combine_tasks(t1, t2, name="ab").name().get() == "ab"


def test_concat_runs_tasks_one_after_the_other() -> None:
    t1 = Task(name="one", processes=[Process(name="a", cmdline="a"),
                                     Process(name="b", cmdline="b")],
              resources=Resources(cpu=2.0, ram=1 * GB, disk=1 * GB))
    t2 = SimpleTask("c", "c")
    chained = concat_tasks(t1, t2)
    assert names(chained) == ["a", "b", "c"]
    assert orders(chained) == [["a", "c"], ["b", "c"]]
    assert chained.resources() == Resources(cpu=2.0, ram=1 * GB, disk=1 * GB, gpu=0)


def test_combining_nothing_gives_an_empty_task() -> None:
    assert Tasks.combine() == Task()
    assert Tasks.concat() == Task()


def test_merges_drop_duplicates_keeping_order() -> None:
    shared = Process(name="shared", cmdline="s")
    t1 = Task(processes=[shared, Process(name="x", cmdline="x")], constraints=order("shared", "x"))
    t2 = Task(processes=[shared], constraints=order("shared", "x"))
    assert [p.name().get() for p in Units.processes_merge([t1, t2])] == ["shared", "x"]
    assert Units.constraints_merge([t1, t2]) == order("shared", "x")


def test_options_render_like_aurora() -> None:
    assert python_options("v", "verbose", port=8080) == "-v --verbose --port 8080"
    assert python_options({"a": 23, "boo": "foo"}) == "-a 23 --boo foo"
    assert java_options("server", Xmx="1g") == "-server -Xmx 1g"
    assert Options.render_option("-", "--", "quiet", None) == "--quiet"
    with pytest.raises(ValueError, match="options must be"):
        Options.python(3)


def test_units() -> None:
    assert BYTES == 1 and MB == 1024 * 1024
