"""Binding template variables: command-line bindings, runtime variables and ports.

Aurora leaves four kinds of variables for the executor to fill in at launch (the instance,
the hostname, the task id and the named ports); everything else must be bound when a job is
submitted. ``{{thermos.xcom}}`` (the sandbox's result file, ``$AURORA_XCOM_FILE``) is a fifth,
ours: only the executor knows the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pystachio import Empty, Ref

from .errors import BindingError
from .schema import MesosContext, ThermosContext

# Deprecated names Aurora rewrote for its users; we keep accepting them.
STANDARD_BINDINGS: dict[Any, str] = {
    Ref.from_address("mesos.role"): "{{role}}",
    Ref.from_address("mesos.cluster"): "{{cluster}}",
    Ref.from_address("thermos.user"): "{{role}}",
}

PORTS_SCOPE = Ref.from_address("thermos.ports")
RUNTIME_REFS = frozenset(
    Ref.from_address(a)
    for a in ("thermos.task_id", "thermos.xcom", "mesos.instance", "mesos.hostname")
)
# Indexes may hold slashes, as image names do: --bind docker.image[org/app][1.0]=...
_BIND_NAME = re.compile(r"^[A-Za-z_][\w\-\.\[\]/]*$")


def parse_bindings(bindings: Mapping[str, str] | Sequence[str] | None) -> list[dict[Any, str]]:
    """``["name=value", ...]`` (as ``--bind`` gives) or a mapping, to pystachio bindings."""
    if bindings is None:
        return []
    pairs: list[tuple[str, str]] = []
    if isinstance(bindings, Mapping):
        pairs = [(str(k), str(v)) for k, v in bindings.items()]
    else:
        for text in bindings:
            name, sep, value = text.partition("=")
            if not sep or not name:
                raise BindingError(f"--bind {text!r}: expected NAME=VALUE")
            pairs.append((name, value))
    result = []
    for name, value in pairs:
        if not _BIND_NAME.match(name):
            raise BindingError(f"--bind {name}={value}: {name!r} is not a variable name")
        try:
            ref = Ref.from_address(name)
        except Ref.InvalidRefError as e:
            raise BindingError(f"--bind {name}={value}: {e}") from e
        result.append({ref: value})
    return result


def is_runtime_ref(ref: Any) -> bool:
    """True for the variables the executor binds at launch."""
    return ref in RUNTIME_REFS or Ref.subscope(PORTS_SCOPE, ref) is not None


def unbound_refs(job: Any) -> list[str]:
    """The variables of ``job`` left unbound that may not wait for the executor."""
    _, refs = job.interpolate()
    return sorted({str(r) for r in refs if not is_runtime_ref(r)})


def check_submittable(job: Any, *, source: str) -> None:
    missing = unbound_refs(job)
    if missing:
        raise BindingError(
            f"{source}: job {job.name()} has unbound variables {', '.join(missing)}: bind them "
            "with --bind NAME=VALUE or in the file"
        )


def port_references(job: Any) -> set[str]:
    """Names used as ``{{thermos.ports[NAME]}}`` anywhere in the job."""
    _, refs = job.interpolate()
    names = set()
    for ref in refs:
        sub = Ref.subscope(PORTS_SCOPE, ref)
        if sub is not None:
            names.add(str(sub.action().value))
    return names


def resolve_portmap(portmap: Mapping[str, str]) -> dict[str, int | str]:
    """Follow the announcer's aliases: each name ends on a static port or a port to assign."""
    resolved: dict[str, int | str] = {}
    for name in portmap:
        seen = [name]
        value = portmap[name]
        while value in portmap and value != seen[-1]:
            if value in seen:
                raise BindingError(f"announce.portmap: aliases form a cycle: {' -> '.join(seen)}")
            seen.append(value)
            value = portmap[value]
        resolved[name] = int(value) if value.isdigit() else value
    return resolved


def announcer_portmap(job: Any) -> dict[str, int | str]:
    if job.announce() is Empty:
        return {}
    interpolated, _ = job.announce().interpolate()
    return resolve_portmap({str(k): str(v) for k, v in interpolated.portmap().get().items()})


def required_ports(job: Any) -> list[str]:
    """Port names the scheduler must assign, as Aurora derived them.

    The task's ``thermos.ports`` references that the announcer's portmap does not pin to a
    static number, plus the portmap's own unresolved names (its primary port, typically).
    """
    portmap = announcer_portmap(job)
    needed = {v for v in portmap.values() if isinstance(v, str)}
    for ref in port_references(job):
        target = portmap.get(ref, ref)
        if isinstance(target, str):
            needed.add(target)
    return sorted(needed)


def instance_ports(job: Any, assigned: Mapping[str, int]) -> dict[str, int]:
    """Every port name the task may reference: assigned ones plus portmap aliases."""
    ports = dict(assigned)
    for name, target in announcer_portmap(job).items():
        if isinstance(target, int):
            ports.setdefault(name, target)
        elif target in assigned:
            ports.setdefault(name, assigned[target])
    return ports


def bind_task_instance(
    job: Any,
    *,
    instance: int,
    hostname: str,
    task_id: str,
    ports: Mapping[str, int],
    user: str | None = None,
    xcom: str | None = None,
) -> Any:
    """The job as one instance runs it: runtime variables bound, everything interpolated.

    :param xcom: the path ``{{thermos.xcom}}`` names (None: left unbound, an error only for
        a job that uses it).
    """
    missing_ports = sorted(set(required_ports(job)) - set(ports))
    if missing_ports:
        raise BindingError(f"task {task_id}: no port assigned for {', '.join(missing_ports)}")
    values: dict[str, Any] = {"xcom": xcom} if xcom is not None else {}
    context = ThermosContext(
        ports=instance_ports(job, ports),
        task_id=task_id,
        user=user if user is not None else str(job.role()),
        **values,
    )
    bound = job.bind(mesos=MesosContext(instance=instance, hostname=hostname), thermos=context)
    interpolated, refs = bound.interpolate()
    if refs:
        names = ", ".join(sorted(str(r) for r in refs))
        raise BindingError(f"task {task_id}: unbound variables remain at launch: {names}")
    return interpolated
