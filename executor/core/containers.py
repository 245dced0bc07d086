"""A task's processes in a container on this host, through a Docker-compatible runtime
(``podman`` or ``docker``), as Thermos ran them inside Docker.

Each run of a process is its own foreground ``RUNTIME run``: its command line becomes

    exec RUNTIME run --rm --init --label=org.apache.aurora.task=TASK_ID --network=host
        --volume=SANDBOX:SANDBOX --workdir=SANDBOX --env=HOME --env=USER --env=LOGNAME
        --env=AURORA_XCOM_FILE
        [--volume=HOST:CONTAINER:ro|rw ...] [--NAME=VALUE ...] IMAGE /bin/bash -c CMDLINE

so the runner's supervision is unchanged: the runtime's client is the run (the wrapper's
exit-code file gets the container's exit status, which the client returns), SIGTERM to the
run reaches the container's process (the client proxies signals; ``--init`` gives it a
PID 1 that forwards them), and the sandbox is the same path inside as outside, so logs,
``.thermos_profile`` and the observer all see the same files. A client killed with SIGKILL
after the grace period cannot stop its container: ``RUNTIME rm -f`` of every container
labelled with the task, run when the task ends (``removal_argv``), does. A long-lived
container per task with ``RUNTIME exec`` was not chosen: an exec'd process is not the
client's child, so a killed client leaves it running and per-process kills would need the
runtime's help at every turn.

Host networking keeps the scheduler's assigned ports as they are (Mesos's Docker default).
Docker parameters become ``--NAME=VALUE`` options of ``run``, as Mesos's Docker
containerizer passed them. An appc image cannot run here: it is refused before launch.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import InvalidTask
from .spec import TaskSpec

TASK_LABEL = "org.apache.aurora.task"


def image_of(container: Mapping[str, Any]) -> str:
    """The image a runtime runs for the job's ``task.container`` (its wire form)."""
    docker = container.get("docker")
    if docker:
        return str(docker["image"])
    image = (container.get("mesos") or {}).get("image") or {}
    if "docker" in image:
        return f"{image['docker']['name']}:{image['docker']['tag']}"
    if "appc" in image:
        raise InvalidTask("an appc image needs the Mesos containerizer; a Docker-compatible "
                          "runtime runs Docker images only")
    raise InvalidTask("the job's Mesos container has no image to run")


def run_options(container: Mapping[str, Any], task_id: str, sandbox: Path) -> list[str]:
    """The options of ``RUNTIME run`` for one process of the task."""
    options = ["--rm", "--init", f"--label={TASK_LABEL}={task_id}", "--network=host",
               f"--volume={sandbox}:{sandbox}", f"--workdir={sandbox}",
               "--env=HOME", "--env=USER", "--env=LOGNAME", "--env=AURORA_XCOM_FILE"]
    for volume in (container.get("mesos") or {}).get("volumes") or ():
        mode = "ro" if volume["mode"] == "RO" else "rw"
        options.append(f"--volume={volume['host_path']}:{volume['container_path']}:{mode}")
    for parameter in (container.get("docker") or {}).get("parameters") or ():
        options.append(f"--{parameter['name']}={parameter['value']}")
    return options


def contained(spec: TaskSpec, runtime: str, container: Mapping[str, Any], task_id: str,
              sandbox: Path) -> TaskSpec:
    """``spec`` with each process's command line run in the container (see the module)."""
    prefix = shlex.join([runtime, "run", *run_options(container, task_id, sandbox),
                         image_of(container)])
    processes = tuple(
        p._replace(cmdline=f"exec {prefix} /bin/bash -c {shlex.quote(p.cmdline)}")
        for p in spec.processes)
    return spec._replace(processes=processes)


def removal_argv(runtime: str, task_id: str) -> list[str]:
    """A shell command that force-removes every container of the task."""
    label = shlex.quote(f"label={TASK_LABEL}={task_id}")
    script = (f"ids=$({shlex.quote(runtime)} ps -aq --filter {label}); "
              f'[ -z "$ids" ] || {shlex.quote(runtime)} rm -f $ids')
    return ["/bin/sh", "-c", script]
