"""``aurora task scp [-r] SRC... DEST``: copy files to, from and between instances' sandboxes.

A path ``CLUSTER/ROLE/ENV/NAME/INSTANCE:PATH`` is in that instance's sandbox, PATH relative
to it (empty: the sandbox itself); any other path is on this machine. A sandbox path is
refused when it leaves the sandbox: absolute, ``~``, or climbing out with ``..``; on the
local backend also when a link in the sandbox leads out of it (a task owns its sandbox and
may plant one). The local backend's sandboxes are on this machine, so a copy is a copy;
on Mesos it is ``scp`` with ``USER@HOST:/sandbox/PATH`` (USER: ``--ssh-user``, default the
role), as Aurora's client did.
"""

from __future__ import annotations

import argparse
import os
import posixpath
import shutil
import subprocess
from dataclasses import dataclass

from aurora_provider.cli.scheduler_cli import client_for, split_key
from aurora_provider.cli.task_shell import TaskCommandError
from aurora_provider.cli.task_targets import TaskTarget, TaskTargetError, is_local, live_targets
from aurora_provider.config import JobKey, JobKeyError


class OutsideSandbox(TaskCommandError):
    """A sandbox path that leads out of the sandbox."""


@dataclass(frozen=True)
class SandboxPath:
    """``KEY/INSTANCE:PATH`` as written; ``relative`` checked to stay in the sandbox."""

    text: str
    key: JobKey
    instance: int
    relative: str


def parse_path(text: str) -> SandboxPath | None:
    """The sandbox path ``text`` names, or None for a path on this machine."""
    head, sep, tail = text.partition(":")
    parts = head.strip("/").split("/")
    if not sep or len(parts) != 5 or not all(parts):
        return None
    try:
        key, spec = split_key(head, with_instances=True)
    except JobKeyError:
        return None
    if spec is None or not spec.isdigit():
        raise TaskTargetError(f"{text!r}: name one instance before ':', e.g. {key}/0:PATH")
    return SandboxPath(text, key, int(spec), _relative(text, tail))


def _relative(text: str, path: str) -> str:
    if path.startswith(("/", "~")):
        raise OutsideSandbox(f"{text!r}: a sandbox path is relative to the sandbox "
                             "(no leading '/' or '~')")
    normal = posixpath.normpath(path) if path else "."
    if normal == ".." or normal.startswith("../"):
        raise OutsideSandbox(f"{text!r}: the path leaves the sandbox")
    return normal


def _inside(target: TaskTarget, where: SandboxPath, *, executor_sandbox: bool) -> str:
    """The local file ``where`` names, every link followed, refused if it is outside."""
    base = os.path.realpath(target.directory(executor_sandbox))
    real = os.path.realpath(os.path.join(base, where.relative))
    if real != base and not real.startswith(base + os.sep):
        raise OutsideSandbox(f"{where.text!r}: the path leads out of the sandbox "
                             f"(to {real})")
    return real


def _copy_local(sources: list[str], dest: str, *, recursive: bool) -> None:
    """Copy as scp does: into ``dest`` when it is a directory, else to it (one source)."""
    into = os.path.isdir(dest)
    if len(sources) > 1 and not into:
        raise TaskCommandError(f"{dest}: not a directory, and there are {len(sources)} "
                               "sources to copy")
    for source in sources:
        target = os.path.join(dest, os.path.basename(source.rstrip("/"))) if into else dest
        try:
            if os.path.isdir(source):
                if not recursive:
                    raise TaskCommandError(f"{source}: a directory; copy it with -r")
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
        except OSError as e:
            raise TaskCommandError(f"cannot copy {source} to {target}: "
                                   f"{e.strerror or e}") from e


def _resolve(where: SandboxPath, args: argparse.Namespace) -> tuple[bool, str]:
    """Whether ``where`` is on this machine (local backend), and the path to copy: a local
    file, or scp's ``USER@HOST:PATH``."""
    with client_for(where.key) as client:
        local = is_local(client)
        if local and args.ssh_user:
            raise TaskCommandError("--ssh-user: this cluster's tasks run on this machine "
                                   "(local backend), without ssh")
        (target,) = live_targets(client, where.key, [where.instance])
    if local:
        return True, _inside(target, where, executor_sandbox=args.executor_sandbox)
    directory = target.directory(args.executor_sandbox)
    user = args.ssh_user or where.key.role
    return False, f"{user}@{target.host}:{posixpath.join(directory, where.relative)}"


def scp(args: argparse.Namespace) -> int:
    paths = [*args.source, args.dest]
    parsed = [parse_path(p) for p in paths]
    if all(p is None for p in parsed):
        raise TaskCommandError("scp: name a sandbox as CLUSTER/ROLE/ENV/NAME/INSTANCE:PATH "
                               "on one side at least")
    resolved: list[str] = []
    backends: set[bool] = set()
    for text, where in zip(paths, parsed, strict=True):
        if where is None:
            resolved.append(text)
            continue
        local, path = _resolve(where, args)
        backends.add(local)
        resolved.append(path)
    if len(backends) > 1:
        raise TaskCommandError("scp: these sandboxes are on a local-backend cluster and a "
                               "remote one; copy through this machine in two steps")
    if backends == {True}:
        _copy_local(resolved[:-1], resolved[-1], recursive=args.recursive)
        return 0
    argv = ["scp", *(["-r"] if args.recursive else []), *resolved]
    try:
        return subprocess.call(argv)
    except FileNotFoundError as e:
        raise TaskCommandError("cannot run scp: not found on PATH") from e
