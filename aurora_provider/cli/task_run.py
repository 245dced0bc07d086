"""``aurora task run`` and ``aurora task ssh``: a command in instances' sandboxes.

``run`` starts the command in each live instance (``--threads`` at a time), and prints
each instance's output (stdout and stderr together) once it ended, in instance order,
every line prefixed by ``HOST/INSTANCE:``; instances whose command failed are named on one
stderr line, and the exit status is then 1. ``ssh`` gives one instance's sandbox an
interactive shell, or runs ``--command`` there with the terminal attached, and exits with
the shell's status.
"""

from __future__ import annotations

import argparse
import os
import pwd
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aurora_provider.cli.scheduler_cli import client_for, parse_instances, split_key
from aurora_provider.cli.task_shell import (
    Invocation,
    TaskCommandError,
    local_command,
    local_shell,
    ssh_command,
    substitute,
    tunnel_spec,
)
from aurora_provider.cli.task_targets import TaskTarget, TaskTargetError, is_local, live_targets
from aurora_provider.config import JobKey


@dataclass(frozen=True)
class Outcome:
    target: TaskTarget
    returncode: int
    output: str


def _refuse_ssh_flags(args: argparse.Namespace) -> None:
    """The local backend's agents are this machine: flags of ssh have nothing to act on."""
    if args.ssh_user:
        raise TaskCommandError("--ssh-user: this cluster's tasks run on this machine (local "
                               "backend), without ssh; run as the user you want instead")
    if getattr(args, "tunnels", None):
        raise TaskCommandError("-L: this cluster's tasks run on this machine (local backend); "
                               "connect to their ports on 127.0.0.1 directly")


def template_user(target: TaskTarget, *, local: bool, role: str) -> str:
    """``{{thermos.user}}``: who owns the sandbox here (the task's user on the local
    backend), else the role, as the task runs as its role on an agent."""
    if local:
        try:
            return pwd.getpwuid(os.stat(target.sandbox).st_uid).pw_name
        except (OSError, KeyError):
            pass
    return role


def invocation(target: TaskTarget, command: str, args: argparse.Namespace, *,
               local: bool) -> Invocation:
    line = substitute(command, target, template_user(target, local=local, role=target.key.role))
    if local:
        return local_command(target, line, executor_sandbox=args.executor_sandbox)
    return ssh_command(target, line, user=args.ssh_user or target.key.role,
                       executor_sandbox=args.executor_sandbox, tty=False)


def _start(how: Invocation, *, capture: bool) -> subprocess.Popen[bytes]:
    """Started with the terminal's streams, or (``capture``) no input and one pipe for
    stdout and stderr together."""
    try:
        if capture:
            return subprocess.Popen(how.argv, cwd=how.cwd, env=how.env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT)
        return subprocess.Popen(how.argv, cwd=how.cwd, env=how.env)
    except FileNotFoundError as e:
        missing = how.cwd if how.cwd and not os.path.isdir(how.cwd) else how.argv[0]
        raise TaskCommandError(f"cannot run {how.argv[0]}: {missing} not found") from e


def _run_one(target: TaskTarget, how: Invocation) -> Outcome:
    proc = _start(how, capture=True)
    output, _ = proc.communicate()
    return Outcome(target, proc.returncode, output.decode(errors="replace"))


def _print(outcome: Outcome) -> None:
    for line in outcome.output.splitlines():
        print(f"{outcome.target.label}: {line}")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    key, spec = split_key(args.instance_key, with_instances=True)
    instances = parse_instances(spec) if spec is not None else None
    if args.threads < 1:
        raise TaskCommandError(f"--threads {args.threads}: expected at least 1")
    with client_for(key) as client:
        local = is_local(client)
        if local:
            _refuse_ssh_flags(args)
        targets = live_targets(client, key, instances)
    # Every template is bound before anything starts: a bad one runs nowhere.
    hows = [(t, invocation(t, args.cmd, args, local=local)) for t in targets]
    failed: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=args.threads) as pool:
        futures = [pool.submit(_run_one, t, how) for t, how in hows]
        for future in futures:
            outcome = future.result()
            _print(outcome)
            if outcome.returncode != 0:
                failed.append(outcome)
    if failed:
        named = ", ".join(f"{o.target.instance} (exit {o.returncode})" for o in failed)
        raise TaskCommandError(f"the command failed on instance(s) {named} of {key}")
    return 0


def _one_instance(text: str) -> tuple[JobKey, int]:
    key, spec = split_key(text, with_instances=True)
    if spec is None or not spec.isdigit():
        raise TaskTargetError(f"{text!r}: name one instance, e.g. {key}/0")
    return key, int(spec)


def ssh(args: argparse.Namespace) -> int:
    key, instance = _one_instance(args.instance_key)
    with client_for(key) as client:
        local = is_local(client)
        if local:
            _refuse_ssh_flags(args)
        (target,) = live_targets(client, key, [instance])
    user = template_user(target, local=local, role=key.role)
    command = substitute(args.command, target, user) if args.command else None
    if local:
        how = (local_command(target, command, executor_sandbox=args.executor_sandbox,
                             interactive=True)
               if command else local_shell(target, executor_sandbox=args.executor_sandbox))
    else:
        tunnels = [tunnel_spec(t, target) for t in args.tunnels]
        how = ssh_command(target, command or "bash", user=args.ssh_user or key.role,
                          executor_sandbox=args.executor_sandbox, tty=True, tunnels=tunnels)
    sys.stdout.flush()
    proc = _start(how, capture=False)
    while True:
        try:
            return proc.wait()
        except KeyboardInterrupt:  # the shell had the ^C too: it decides whether to end
            continue
