"""How a command reaches an instance's sandbox: directly on this machine (local backend),
or through ``ssh`` to the instance's host (Mesos), as Aurora's client did.

Locally the command runs as the executor runs a process: ``/bin/bash -c CMD`` in the
sandbox, with Thermos's environment (HOME is the sandbox, USER and LOGNAME, PATH, and
BASH_ENV when the sandbox has a ``.thermos_profile``). The executor sets no variables for
ports, so neither does this: ports reach a command through ``{{thermos.ports[NAME]}}``.
Through ssh the remote login shell changes to the sandbox first.

Templates are Aurora's: ``{{mesos.instance}}``, ``{{mesos.hostname}}``,
``{{thermos.task_id}}``, ``{{thermos.ports[NAME]}}``, ``{{thermos.user}}``, bound per
instance; anything left unbound is refused rather than sent as literal braces.
"""

from __future__ import annotations

import getpass
import os
import shlex
from dataclasses import dataclass

from pystachio import Environment, String

from aurora_provider.cli.task_targets import TaskTarget
from aurora_provider.config.schema import MesosContext, ThermosContext
from aurora_provider.errors import AuroraError

BASH = "/bin/bash"
THERMOS_PROFILE = ".thermos_profile"


class TaskCommandError(AuroraError):
    """A command cannot be sent as asked (unbound template, flag that does not apply)."""


def substitute(command: str, target: TaskTarget, user: str) -> str:
    """``command`` with the instance's ``{{mesos.*}}`` and ``{{thermos.*}}`` bound."""
    env = Environment(
        mesos=MesosContext(instance=target.instance, hostname=target.host),
        thermos=ThermosContext(ports=target.ports, task_id=target.task_id, user=user))
    bound, refs = String(command).bind(env).interpolate()
    if refs:
        names = ", ".join(sorted(str(r) for r in refs))
        ports = ", ".join(sorted(target.ports)) or "none"
        raise TaskCommandError(f"{names}: not known for instance {target.instance} of "
                               f"{target.key} (its ports: {ports}; known: {{{{mesos.instance}}}}"
                               ", {{mesos.hostname}}, {{thermos.task_id}}, {{thermos.user}}, "
                               "{{thermos.ports[NAME]}})")
    return str(bound.get())


def local_environment(sandbox: str, *, interactive: bool = False) -> dict[str, str]:
    """What a process of the task sees (the executor's environment of a process), for a
    command run by this user; an interactive shell keeps the terminal's TERM too."""
    user = getpass.getuser()
    env = {"HOME": sandbox, "USER": user, "LOGNAME": user,
           "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")}
    profile = os.path.join(sandbox, THERMOS_PROFILE)
    if os.path.exists(profile):
        env["BASH_ENV"] = profile
    if interactive and "TERM" in os.environ:
        env["TERM"] = os.environ["TERM"]
    return env


@dataclass(frozen=True)
class Invocation:
    """A process to start for one instance: its argv, working directory and environment
    (None: this process's, as ssh needs)."""

    argv: list[str]
    cwd: str | None = None
    env: dict[str, str] | None = None


def local_command(target: TaskTarget, command: str, *, executor_sandbox: bool,
                  interactive: bool = False) -> Invocation:
    return Invocation([BASH, "-c", command], cwd=target.directory(executor_sandbox),
                      env=local_environment(target.sandbox, interactive=interactive))


def local_shell(target: TaskTarget, *, executor_sandbox: bool) -> Invocation:
    shell = os.environ.get("SHELL") or BASH
    return Invocation([shell], cwd=target.directory(executor_sandbox),
                      env=local_environment(target.sandbox, interactive=True))


def remote_line(target: TaskTarget, command: str, *, executor_sandbox: bool) -> str:
    # ``&&``, not Aurora's ``;``: a sandbox that is gone must not run the command in the
    # login directory instead.
    return f"cd {shlex.quote(target.directory(executor_sandbox))} && {command}"


def ssh_command(target: TaskTarget, command: str, *, user: str, executor_sandbox: bool,
                tty: bool, tunnels: list[str] | None = None) -> Invocation:
    """``ssh -l USER HOST "cd SANDBOX && CMD"``; ``tty``: ``-t`` (an interactive session),
    else ``-n -q`` (no stdin, no banners), as Aurora's client did."""
    argv = ["ssh", *(["-t"] if tty else ["-n", "-q"])]
    for tunnel in tunnels or []:
        argv += ["-L", tunnel]
    argv += ["-l", user, target.host,
             remote_line(target, command, executor_sandbox=executor_sandbox)]
    return Invocation(argv)


def tunnel_spec(text: str, target: TaskTarget) -> str:
    """``-L`` as ssh takes it: ``PORT:NAME`` (Aurora's: to the instance's port NAME on its
    host) or ssh's own ``PORT:HOST:PORT``."""
    parts = text.split(":")
    if len(parts) == 2 and parts[0].isdigit():
        if parts[1] not in target.ports:
            ports = ", ".join(sorted(target.ports)) or "none"
            raise TaskCommandError(f"-L {text}: task {target.task_id} has no port named "
                                   f"{parts[1]!r} (its ports: {ports})")
        return f"{parts[0]}:{target.host}:{target.ports[parts[1]]}"
    if len(parts) == 3 and parts[0].isdigit() and parts[1] and parts[2].isdigit():
        return text
    raise TaskCommandError(f"-L {text!r}: expected PORT:NAME (a port of the task) or "
                           "PORT:HOST:PORT")
