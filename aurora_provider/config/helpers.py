"""Helpers of the ``.aurora`` language: units, process ordering and task combinators.

These are the names Aurora put in every configuration's namespace next to the schema
(``order``, ``SequentialTask``, ``SimpleTask``, ``Tasks``, ``Units``, ``Processes``,
``Options`` and the ``KB MB GB TB`` constants). They behave as Aurora's did, with two
deliberate differences: merged process and constraint lists keep their order (Aurora
went through a ``set`` and so shuffled them), and the GPU count is summed or maxed along
with cpu, ram and disk.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from pystachio import Empty, String

from aurora_provider.config.schema import Constraint, Process, Resources, Task

__all__ = [
    "BYTES",
    "GB",
    "KB",
    "MB",
    "TB",
    "Options",
    "Processes",
    "SequentialTask",
    "SimpleTask",
    "Tasks",
    "Units",
    "combine_tasks",
    "concat_tasks",
    "java_options",
    "order",
    "python_options",
]

BYTES = 1
KB = 1024 * BYTES
MB = 1024 * KB
GB = 1024 * MB
TB = 1024 * GB

_RESOURCE_FIELDS = ("cpu", "ram", "disk", "gpu")


def _flatten(resources: tuple[Any, ...]) -> list[Any]:
    """Accept both ``f(r1, r2)`` and ``f([r1, r2])`` (Aurora used each in different places)."""
    if len(resources) == 1 and not isinstance(resources[0], Resources):
        maybe_iterable = resources[0]
        if maybe_iterable is Empty:
            return [Empty]
        return list(maybe_iterable)
    return list(resources)


def _number(value: Any) -> float | int:
    """A resource field as a number, an unset one counting as zero."""
    if value is Empty:
        return 0
    number: float | int = value.get()
    return number


def _processes(task: Any) -> list[Any]:
    processes = task.processes()
    return [] if processes is Empty else list(processes)


class Units:
    """Arithmetic on ``Resources`` (an unset resource or field counts as zero)."""

    @classmethod
    def optional_resources(cls, resources: Any) -> Any:
        return Resources() if resources is Empty else resources

    @classmethod
    def _fold(cls, combine: Any, resources: tuple[Any, ...]) -> Any:
        totals: dict[str, float | int] = dict.fromkeys(_RESOURCE_FIELDS, 0)
        for item in _flatten(resources):
            item = cls.optional_resources(item)
            for field in _RESOURCE_FIELDS:
                totals[field] = combine(totals[field], _number(getattr(item, field)()))
        return Resources(**totals)

    @classmethod
    def resources_sum(cls, *resources: Any) -> Any:
        """The field-by-field sum of Resources (what tasks running side by side need)."""
        return cls._fold(lambda a, b: a + b, resources)

    @classmethod
    def resources_max(cls, *resources: Any) -> Any:
        """The field-by-field maximum of Resources (what tasks running in turn need)."""
        return cls._fold(max, resources)

    @classmethod
    def processes_merge(cls, tasks: Iterable[Any]) -> list[Any]:
        """The processes of all tasks, duplicates removed, in first-seen order."""
        merged: dict[Any, None] = {}
        for task in tasks:
            merged.update(dict.fromkeys(_processes(task)))
        return list(merged)

    @classmethod
    def constraints_merge(cls, tasks: Iterable[Any]) -> list[Any]:
        """The constraints of all tasks, duplicates removed, in first-seen order."""
        merged: dict[Any, None] = {}
        for task in tasks:
            if task.constraints() is not Empty:
                merged.update(dict.fromkeys(task.constraints()))
        return list(merged)


class Processes:
    """Helpers for ordering processes."""

    @classmethod
    def _process_name(cls, process: Any) -> Any:
        if isinstance(process, Process):
            return process.name()
        if isinstance(process, str | String):
            return process
        raise ValueError(
            f"order() takes Process objects or process names, not {type(process).__name__}: "
            f"{process!r}"
        )

    @classmethod
    def order(cls, *processes: Any) -> list[Any]:
        """``[Constraint(order=[names...])]``: run the processes one after the other.

        The result is a list so that orders concatenate: ``order(a, b) + order(b, c)``.
        """
        return [Constraint(order=[cls._process_name(p) for p in processes])]


class Tasks:
    """Task combinators."""

    SIMPLE_CPU = 1.0
    SIMPLE_RAM = 1 * GB
    SIMPLE_DISK = 1 * GB

    @classmethod
    def _combine_processes(cls, *tasks: Any) -> Any:
        # As in Aurora, the combined task keeps the identity (name, waits...) of the LAST task.
        return tasks[-1](processes=Units.processes_merge(tasks))

    @classmethod
    def combine(cls, *tasks: Any, **kw: Any) -> Any:
        """One task running the processes of all ``tasks`` side by side (resources summed)."""
        if not tasks:
            return Task()
        base = cls._combine_processes(*tasks)
        return base(
            resources=Units.resources_sum(*(task.resources() for task in tasks)),
            constraints=Units.constraints_merge(tasks),
            **kw,
        )

    @classmethod
    def concat(cls, *tasks: Any, **kw: Any) -> Any:
        """One task running all processes of ``tasks[k]`` before any of ``tasks[k+1]``.

        Resources are the field-by-field maximum, since the tasks' processes never overlap.
        """
        if not tasks:
            return Task()
        base = cls._combine_processes(*tasks)
        base = base(resources=Units.resources_max(*(task.resources() for task in tasks)))
        constraints = Units.constraints_merge(tasks)
        for before, after in itertools.pairwise(tasks):
            for first in _processes(before):
                for second in _processes(after):
                    if first != second:
                        constraints.extend(Processes.order(first, second))
        return base(constraints=constraints, **kw)

    @classmethod
    def simple(cls, name: str, command: str) -> Any:
        """A one-process task with 1 cpu, 1 GB of ram and 1 GB of disk."""
        return Task(
            name=name,
            processes=[Process(name=name, cmdline=command)],
            resources=Resources(cpu=cls.SIMPLE_CPU, ram=cls.SIMPLE_RAM, disk=cls.SIMPLE_DISK),
        )

    @classmethod
    def sequential(cls, task: Any) -> Any:
        """The task with an order constraint running its processes in list order."""
        constraints = task.constraints()
        if constraints is not Empty and constraints.get():
            raise ValueError(
                "SequentialTask cannot take constraints: it orders the processes itself; "
                "use Task(constraints=order(...)) for a custom order"
            )
        if task.processes() is Empty:
            return task
        return task(constraints=order(*task.processes()))


class Options:
    """Build command-line option strings for a Process's cmdline."""

    @classmethod
    def render_option(
        cls, short_prefix: str, long_prefix: str, option: str, value: Any = None
    ) -> str:
        flag = f"{short_prefix if len(option) == 1 else long_prefix}{option}"
        # As in Aurora, a falsy value (None, "", 0) renders the bare flag.
        return f"{flag} {value}" if value else flag

    @classmethod
    def render_options(
        cls, short_prefix: str, long_prefix: str, *options: Any, **kw_options: Any
    ) -> list[str]:
        rendered: list[str] = []
        for option in options:
            if isinstance(option, str):
                rendered.append(cls.render_option(short_prefix, long_prefix, option))
            elif isinstance(option, Mapping):
                for argument, value in option.items():
                    rendered.append(cls.render_option(short_prefix, long_prefix, argument, value))
            else:
                raise ValueError(
                    f"options must be names, mappings or keyword arguments, not {option!r}"
                )
        for argument, value in kw_options.items():
            rendered.append(cls.render_option(short_prefix, long_prefix, argument, value))
        return rendered

    @classmethod
    def java(cls, *options: Any, **kw_options: Any) -> str:
        """``java_options('server', Xmx='1g') == '-server -Xmx 1g'`` (one dash always)."""
        return " ".join(cls.render_options("-", "-", *options, **kw_options))

    @classmethod
    def python(cls, *options: Any, **kw_options: Any) -> str:
        """``python_options('v', port=8) == '-v --port 8'`` (one dash for one letter)."""
        return " ".join(cls.render_options("-", "--", *options, **kw_options))


def SimpleTask(name: str, command: str) -> Any:
    """A one-process task with default resources."""
    return Tasks.simple(name, command)


def SequentialTask(*args: Any, **kw: Any) -> Any:
    """A Task whose processes run one after the other, in list order."""
    return Tasks.sequential(Task(*args, **kw))


order = Processes.order
combine_tasks = Tasks.combine
concat_tasks = Tasks.concat
java_options = Options.java
python_options = Options.python
