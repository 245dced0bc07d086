"""``thermos``: run, inspect and manage tasks on this machine without a scheduler.

Commands: ``run``, ``status``, ``kill``, ``tail``, ``inspect``, ``gc``. Errors are one line
on stderr and a non-zero exit status; ``run`` exits 0 when the task succeeded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aurora_provider.errors import run_command

from .enforcement import add_arguments
from .errors import ExecutorError

DEFAULT_ROOT = os.environ.get("THERMOS_CHECKPOINT_ROOT", os.path.expanduser("~/.thermos"))


def _load_job(path: str, key: str, bindings: list[str]) -> Any:
    from aurora_provider.config import load  # its ConfigError is one line for run_command

    return load(path, bindings=bindings).pick(key)


def cmd_run(args: argparse.Namespace) -> int:
    from aurora_provider.config import required_ports

    from .core.binding import bind_job, free_ports
    from .core.paths import check_task_id
    from .core.runner import Runner
    from .core.users import task_user
    from .enforcement import from_args
    from .runner_main import EXIT_CODES, parse_ports

    user = task_user(args.setuid, way_out="run it without --setuid")
    enforcement = from_args(args)
    job = _load_job(args.file, args.job, args.bind)
    ports = parse_ports(args.port)
    ports.update(free_ports([n for n in required_ports(job) if n not in ports]))
    name = str(job.name().get())
    task_id = check_task_id(args.task_id or (
        f"{job.role().get()}-{job.environment().get()}-{name}-{args.instance}-{uuid.uuid4()}"
    ))
    root = Path(args.checkpoint_root)
    sandbox = Path(args.sandbox) if args.sandbox else root / task_id / "sandbox"
    spec = bind_job(job, task_id=task_id, instance=args.instance, ports=ports, sandbox=sandbox)
    if args.announcer_zk_path_prefix is not None:
        from .services.announcer import under_root

        own = job.has_announce() and job.announce().has_zk_path()
        spec = under_root(spec, args.announcer_zk_path_prefix, own_path=bool(own))
    if args.detach:
        from .api import TaskPaths

        paths = TaskPaths(root, task_id)
        paths.dir.mkdir(parents=True, exist_ok=True)
        spec_file = paths.dir / "spec.json"
        spec_file.write_text(spec.to_json())
        log = open(paths.runner_log, "ab")  # noqa: SIM115
        argv = [
            sys.executable, "-m", "executor.runner_main", "--task-spec", str(spec_file),
            "--task-id", task_id, "--instance", str(args.instance), "--sandbox", str(sandbox),
            "--checkpoint-root", str(root),
        ]  # fmt: skip
        for port_name, port in ports.items():
            argv += ["--port", f"{port_name}={port}"]
        if args.announcer_ensemble:
            argv += ["--announcer-ensemble", args.announcer_ensemble]
        if args.setuid:
            argv += ["--setuid", args.setuid]
        argv += enforcement.runner_argv()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        print(f"{task_id} (runner pid {proc.pid}, log {paths.runner_log})")
        return 0
    print(f"task {task_id}: sandbox {sandbox}, ports {ports}, user {user.name}", file=sys.stderr)
    runner = Runner(
        spec, root, task_id, sandbox=sandbox, ports=ports,
        announcer_ensemble=args.announcer_ensemble, user=user, enforcement=enforcement,
    )  # fmt: skip
    state = runner.run()
    print(f"task {task_id}: {state.value}", file=sys.stderr)
    return EXIT_CODES.get(state, 1)


def _fmt_time(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def cmd_status(args: argparse.Namespace) -> int:
    from .api import CheckpointReader

    reader = CheckpointReader(args.checkpoint_root)
    ids = [args.task_id] if args.task_id else reader.task_ids()
    views = []
    for task_id in ids:
        view = reader.task(task_id)
        if view is None:
            raise ExecutorError(f"{args.checkpoint_root}: no task {task_id}")
        views.append(view)
    if args.json:
        print(json.dumps([asdict(v) for v in views], indent=2, default=str))
        return 0
    for view in views:
        launched = _fmt_time(view.launch_time)
        print(f"{view.task_id}  {view.state}  health={view.health}  launched {launched}")
        if view.message:
            print(f"  {view.message}")
        for proc in view.processes.values():
            last = proc.runs[-1]
            detail = f"pid {last.pid}" if last.pid else ""
            if last.return_code is not None:
                detail += f" rc {last.return_code}"
            print(f"  {proc.name:<20} {last.state:<8} run {last.run} {detail}")
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    from .api import kill_task

    state = kill_task(args.checkpoint_root, args.task_id, grace=args.grace)
    print(f"{args.task_id}: {state}")
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from .api import CheckpointReader

    view = CheckpointReader(args.checkpoint_root).task(args.task_id)
    if view is None or view.log_dir is None:
        raise ExecutorError(f"{args.checkpoint_root}: no task {args.task_id}")
    proc = view.processes.get(args.process)
    if proc is None:
        raise ExecutorError(f"task {args.task_id} has no process {args.process!r} (yet)")
    run = args.run if args.run is not None else proc.runs[-1].run
    from .api import run_log_dir

    stream = "stderr" if args.stderr else "stdout"
    path = run_log_dir(Path(view.log_dir), args.process, run) / stream
    try:
        with open(path, "rb") as f:
            data = f.read()
            lines = data.splitlines(keepends=True)[-args.lines :]
            sys.stdout.buffer.write(b"".join(lines))
            sys.stdout.flush()
            while args.follow:
                chunk = f.read()
                if chunk:
                    sys.stdout.buffer.write(chunk)
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
    except FileNotFoundError as e:
        raise ExecutorError(f"{path}: no such log") from e
    except KeyboardInterrupt:
        pass
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from aurora_provider.config import required_ports

    from .core.binding import bind_job

    job = _load_job(args.file, args.job, args.bind)
    ports = {name: 0 for name in required_ports(job)}
    spec = bind_job(job, task_id="inspect", instance=args.instance, ports=ports)
    print(json.dumps(json.loads(spec.to_json()), indent=2))
    return 0


def cmd_gc(args: argparse.Namespace) -> int:
    from .api import collect_garbage

    report = collect_garbage(
        args.checkpoint_root,
        max_age_secs=args.max_age,
        max_total_bytes=args.max_total_bytes,
        dry_run=args.dry_run,
    )
    verb = "would remove" if args.dry_run else "removed"
    for task_id in report.removed:
        print(f"{verb} {task_id}")
    print(f"{verb} {len(report.removed)} task(s), {report.freed_bytes} bytes")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="thermos", description=__doc__)
    p.add_argument("--checkpoint-root", default=DEFAULT_ROOT, help=f"default {DEFAULT_ROOT}")
    sub = p.add_subparsers(dest="command", required=True)
    # --checkpoint-root may come after the command too.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--checkpoint-root", default=argparse.SUPPRESS)

    def job_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file")
        sp.add_argument("--job", required=True, metavar="CLUSTER/ROLE/ENV/NAME")
        sp.add_argument("--instance", type=int, default=0)
        sp.add_argument("--bind", action="append", default=[], metavar="NAME=VALUE")

    run = sub.add_parser("run", parents=[common], help="run a task of a job")
    job_args(run)
    run.add_argument("--port", action="append", default=[], metavar="NAME=PORT")
    run.add_argument("--sandbox")
    run.add_argument("--task-id")
    run.add_argument("--detach", action="store_true")
    run.add_argument("--announcer-ensemble", metavar="HOSTS")
    run.add_argument("--announcer-zk-path-prefix", metavar="PATH",
                     help="the serversets' root (default /aurora): a job without its own "
                     "zk_path announces at PATH/ROLE/ENV/NAME")
    run.add_argument("--setuid", metavar="USER",
                     help="run the task's processes as USER (as root; Thermos's --setuid)")
    add_arguments(run)
    run.set_defaults(func=cmd_run)

    status = sub.add_parser("status", parents=[common], help="show tasks")
    status.add_argument("task_id", nargs="?")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    kill = sub.add_parser("kill", parents=[common], help="kill a task")
    kill.add_argument("task_id")
    kill.add_argument("--grace", type=float, default=10.0)
    kill.set_defaults(func=cmd_kill)

    tail = sub.add_parser("tail", parents=[common], help="show a process's log")
    tail.add_argument("task_id")
    tail.add_argument("process")
    tail.add_argument("--run", type=int)
    tail.add_argument("--stderr", action="store_true")
    tail.add_argument("-n", "--lines", type=int, default=20)
    tail.add_argument("-f", "--follow", action="store_true")
    tail.set_defaults(func=cmd_tail)

    inspect = sub.add_parser("inspect", parents=[common], help="show the task a job would run")
    job_args(inspect)
    inspect.set_defaults(func=cmd_inspect)

    gc = sub.add_parser("gc", parents=[common], help="remove finished tasks")
    gc.add_argument("--max-age", type=float, help="seconds")
    gc.add_argument("--max-total-bytes", type=int)
    gc.add_argument("--dry-run", action="store_true")
    gc.set_defaults(func=cmd_gc)
    return p


def main(argv: list[str] | None = None) -> int:
    """``thermos``: an error meant for the user is one ``thermos: ...`` line and exit 1."""
    args = build_parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = args.func
    return run_command("thermos", lambda: command(args))


if __name__ == "__main__":
    sys.exit(main())
