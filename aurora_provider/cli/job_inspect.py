"""``aurora job inspect KEY FILE``: show a job as the scheduler would receive it.

Three views: a readable summary (default), the wire form (``--json``, what the scheduler
stores), and the job itself as pystachio JSON (``--raw``, what the executor is handed).
The job is picked, bound and validated first, so inspect also tells whether a file is
ready to submit.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pystachio import Empty

from aurora_provider.cli.common import add_config_arguments, pick_job
from aurora_provider.config import job_to_wire, required_ports
from aurora_provider.config.validation import task_port_names

MB = 1024 * 1024


def register_verbs(verbs: Any) -> None:
    inspect = verbs.add_parser("inspect", help="print the resolved job from a configuration")
    inspect.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME", help="the job to show")
    add_config_arguments(inspect)
    views = inspect.add_mutually_exclusive_group()
    views.add_argument("--json", action="store_true", help="print the wire form as JSON")
    views.add_argument("--raw", action="store_true", help="print the job as pystachio JSON")
    inspect.set_defaults(handler=inspect_job)


def inspect_job(args: argparse.Namespace) -> int:
    job = pick_job(args)
    if args.json:
        print(json.dumps(job_to_wire(job), indent=2, sort_keys=True))
    elif args.raw:
        interpolated, _ = job.interpolate()
        print(json.dumps(json.loads(interpolated.json_dumps()), indent=2, sort_keys=True))
    else:
        print("\n".join(describe_job(job)))
    return 0


def _opt(value: Any) -> Any:
    return None if value is Empty else value.get()


def describe_job(job: Any) -> list[str]:
    """A readable summary of a (validated) job, one fact per line."""
    job, _ = job.interpolate()
    key = "/".join(str(getattr(job, p)().get()) for p in ("cluster", "role", "environment",
                                                          "name"))
    lines = [f"Job {key}"]
    lines.append(f"  kind:        {'service' if job.service().get() else 'job'}")
    schedule = _opt(job.cron_schedule())
    if schedule:
        lines.append(f"  cron:        {schedule!r}, on collision "
                     f"{job.cron_collision_policy().get()}")
    lines.append(f"  instances:   {job.instances().get()}")
    for label, value in (("contact", _opt(job.contact())), ("tier", _opt(job.tier()))):
        if value:
            lines.append(f"  {label + ':':<12} {value}")
    lines.append(f"  priority:    {job.priority().get()}"
                 f"{', production' if job.production().get() else ''}")
    lines.append(f"  max task failures: {job.max_task_failures().get()}")
    constraints = _opt(job.constraints()) or {}
    for name, value in sorted(constraints.items()):
        lines.append(f"  constraint:  {name} = {value}")
    ports = required_ports(job)
    lines.append(f"  ports:       {', '.join(ports) if ports else '(none)'}")
    if job.has_announce():
        announce = job.announce()
        lines.append(f"  announce:    primary port {announce.primary_port().get()}, portmap "
                     f"{dict(sorted(announce.portmap().get().items()))}")
    if job.container() is not Empty:
        lines.append(f"  container:   {_describe_container(job.container().get())}")
    lines.extend(_describe_update(job.update_config()))
    lines.extend(_describe_health(job.health_check_config(), "health" in task_port_names(job)))
    lines.extend(_describe_task(job.task()))
    return lines


def _describe_container(container: Any) -> str:
    if "docker" in container:
        container = container["docker"]
    if "image" in container and isinstance(container["image"], str):
        return f"docker image {container['image']}"
    image = container.get("image") or {}
    name = f"{image.get('name', '?')}:{image.get('tag', image.get('image_id', '?'))}"
    return f"mesos, image {name}" if image else "mesos"


def _describe_update(update: Any) -> list[str]:
    strategy = update.update_strategy()
    if strategy is Empty:
        how = f"batches of {update.batch_size().get()}"
    else:
        chosen = strategy.unwrap()
        fields = chosen.get()
        how = f"{type(chosen).__name__} {dict(sorted(fields.items()))}"
    return [
        f"  update:      {how}, watch {update.watch_secs().get()}s, "
        f"max failures {update.max_per_shard_failures().get()} per instance / "
        f"{update.max_total_failures().get()} total, "
        f"rollback {'on' if update.rollback_on_failure().get() else 'off'}"
    ]


def _describe_health(health: Any, has_health_port: bool) -> list[str]:
    checker = health.health_checker()
    if checker.has_shell():
        kind = f"shell {checker.shell().shell_command().get()!r}"
    elif checker.has_http() and has_health_port:
        kind = f"http {checker.http().endpoint().get()} on port 'health'"
    else:
        return ["  health:      none (no shell checker, no port named 'health')"]
    return [
        f"  health:      {kind}, first after {health.initial_interval_secs().get()}s, every "
        f"{health.interval_secs().get()}s, {health.max_consecutive_failures().get()} failures "
        "allowed"
    ]


def _describe_task(task: Any) -> list[str]:
    resources = task.resources()
    lines = [
        f"Task {task.name().get()}",
        f"  resources:   cpu {resources.cpu().get()}, ram {resources.ram().get() // MB} MB, "
        f"disk {resources.disk().get() // MB} MB, gpu {resources.gpu().get()}",
        f"  max failures {task.max_failures().get()}, max concurrency "
        f"{task.max_concurrency().get() or 'unlimited'}, finalization wait "
        f"{task.finalization_wait().get()}s",
    ]
    for constraint in task.constraints():
        lines.append(f"  order:       {' -> '.join(constraint.order().get())}")
    for process in task.processes():
        traits = [t for t in ("daemon", "ephemeral", "final") if getattr(process, t)().get()]
        lines.append(f"Process {process.name().get()}"
                     f"{' (' + ', '.join(traits) + ')' if traits else ''}")
        lines.append(f"  max failures {process.max_failures().get()}, min duration "
                     f"{process.min_duration().get()}s")
        lines.append("  cmdline:")
        lines.extend(f"    {line}" for line in str(process.cmdline().get()).splitlines())
    return lines
