"""``python -m executor.runner_main``: one runner in the foreground, as spawned by schedulers.

Exit status: 0 when the task succeeded, 1 when it failed, 2 when it was killed or lost,
3 when it could not be run at all (the reason is one line on stderr).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from aurora_provider.errors import AuroraError
from aurora_provider.states.executor_task import ExecutorTaskState as T

from .core.spec import TaskSpec
from .enforcement import (
    CGROUP_PARENT_FLAG,
    DEFAULT_DISK_INTERVAL,
    DISK_INTERVAL_FLAG,
    NO_CGROUPS_FLAG,
    NO_DISK_FLAG,
    add_arguments,
    from_args,
    positive_seconds,
)
from .errors import ExecutorError

EXIT_CODES = {T.SUCCESS: 0, T.FAILED: 1, T.KILLED: 2, T.LOST: 2}
EXIT_INVALID = 3


def parse_ports(items: list[str]) -> dict[str, int]:
    ports: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name or not value.isdigit():
            raise ExecutorError(f"--port {item!r}: expected NAME=PORT")
        ports[name] = int(value)
    return ports


def build_parser() -> Any:
    import argparse

    p = argparse.ArgumentParser(prog="thermos-runner", description=__doc__)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--executor-data", help="a file holding the job's JSON")
    source.add_argument("--task-spec", help="a bound task spec (task.json)")
    source.add_argument("--resume", action="store_true", help="resume from the checkpoint")
    p.add_argument("--task-id", required=True)
    p.add_argument("--instance", type=int, default=0)
    p.add_argument("--hostname")
    p.add_argument("--port", action="append", default=[], metavar="NAME=PORT")
    p.add_argument("--sandbox")
    p.add_argument("--checkpoint-root", required=True)
    p.add_argument("--announcer-ensemble", help="ZooKeeper hosts for the announcer")
    p.add_argument("--sample-interval", type=float, default=10.0)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--setuid", metavar="USER", help="run the task's processes as USER "
                   "(a runner that is not root may name only its own user); a resumed "
                   "task runs as its checkpoint says")
    add_arguments(p)
    return p


_VALUED = {
    "--executor-data", "--task-spec", "--task-id", "--instance", "--hostname", "--port",
    "--sandbox", "--checkpoint-root", "--announcer-ensemble", "--sample-interval", "--setuid",
    DISK_INTERVAL_FLAG, CGROUP_PARENT_FLAG,
}  # fmt: skip
_FLAGS = {"--resume", "--quiet", NO_DISK_FLAG, NO_CGROUPS_FLAG}


class _Args:
    executor_data: str | None = None
    task_spec: str | None = None
    resume = False
    task_id = ""
    instance = 0
    hostname: str | None = None
    port: list[str]
    sandbox: str | None = None
    checkpoint_root = ""
    announcer_ensemble: str | None = None
    sample_interval = 10.0
    quiet = False
    setuid: str | None = None
    disk_collection_interval_secs = DEFAULT_DISK_INTERVAL
    no_enforce_disk_quota = False
    no_cgroup_limits = False
    cgroup_parent: str | None = None


def parse_args(argv: list[str]) -> Any:
    """The argv schedulers generate, parsed without argparse (a few ms of start-up).

    Anything unusual (help, an unknown option, a missing value) goes to argparse, which
    prints the proper usage and error.
    """
    args = _Args()
    args.port = []
    i = 0
    try:
        while i < len(argv):
            opt, eq, inline = argv[i].partition("=")
            if opt in _FLAGS and not eq:
                setattr(args, opt[2:].replace("-", "_"), True)
            elif opt in _VALUED:
                value = inline if eq else argv[i + 1]
                i += 0 if eq else 1
                name = opt[2:].replace("-", "_")
                if name == "port":
                    args.port.append(value)
                elif name == "instance":
                    args.instance = int(value)
                elif name == "sample_interval":
                    args.sample_interval = float(value)
                elif name == "disk_collection_interval_secs":
                    args.disk_collection_interval_secs = positive_seconds(value)
                else:
                    setattr(args, name, value)
            else:
                raise ValueError(opt)
            i += 1
        sources = [args.executor_data is not None, args.task_spec is not None, args.resume]
        if sum(sources) != 1 or not args.task_id or not args.checkpoint_root:
            raise ValueError("arguments")
    except (ValueError, IndexError):
        return build_parser().parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from .core.runner import Runner, load_runner
    from .core.users import task_user

    try:
        ports = parse_ports(args.port)
        root = Path(args.checkpoint_root)
        common = {
            "announcer_ensemble": args.announcer_ensemble,
            "sample_interval": args.sample_interval,
            "quiet": args.quiet,
            "enforcement": from_args(args),
        }
        if args.resume:
            runner = load_runner(root, args.task_id, **common)
        else:
            user = task_user(args.setuid)
            sandbox = Path(args.sandbox) if args.sandbox else root / args.task_id / "sandbox"
            if args.task_spec:
                spec = TaskSpec.load(Path(args.task_spec))
            else:
                spec = spec_from_executor_data(
                    Path(args.executor_data), args.task_id, args.instance, ports, args.hostname,
                    sandbox=sandbox,
                )
            runner = Runner(
                spec,
                root,
                args.task_id,
                sandbox=sandbox,
                ports=ports,
                hostname=args.hostname,
                user=user,
                **common,
            )
        state = runner.run()
    except AuroraError as e:  # one line, and the status that says "could not run at all"
        print(f"thermos: {e}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_CODES.get(state, 1)


def spec_from_executor_data(
    path: Path, task_id: str, instance: int, ports: dict[str, int], hostname: str | None,
    *, sandbox: Path | None = None,
) -> TaskSpec:
    """Bind the job in ``path`` from its JSON (``core.wire_binding``), without pystachio.

    Only a job holding references other than the runtime variables (never one the scheduler
    sends) is bound with the configuration language, which alone knows their scoping.
    """
    from .core.wire_binding import NeedsConfigLanguage, WireDataError, spec_from_wire
    from .errors import InvalidTask

    try:
        data = path.read_text()
    except OSError as e:
        raise ExecutorError(f"{path}: cannot read executor data ({e.strerror})") from e
    try:
        return spec_from_wire(data, task_id=task_id, instance=instance, ports=ports,
                              hostname=hostname, sandbox=sandbox)  # fmt: skip
    except WireDataError as e:
        raise InvalidTask(f"{path}: {e}") from e
    except NeedsConfigLanguage:
        return spec_with_config_language(path, data, task_id, instance, ports, hostname,
                                         sandbox=sandbox)


def spec_with_config_language(
    path: Path, data: str, task_id: str, instance: int, ports: dict[str, int],
    hostname: str | None, *, sandbox: Path | None = None,
) -> TaskSpec:  # fmt: skip
    """Bind the job with pystachio (40-60 ms of imports), as ``thermos run`` does."""
    from aurora_provider.config import ConfigError, job_from_executor_data

    from .core.binding import bind_job

    try:
        job = job_from_executor_data(data)
    except ConfigError as e:
        raise ExecutorError(f"{path}: {e}") from e
    return bind_job(job, task_id=task_id, instance=instance, ports=ports, hostname=hostname,
                    sandbox=sandbox)


if __name__ == "__main__":
    code = main()
    # Everything is recorded, closed and unlocked by now: skip interpreter teardown, which
    # would only delay the moment a scheduler sees the runner gone.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
