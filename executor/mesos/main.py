"""``aurora-executor [--checkpoint-root DIR] [--announcer-ensemble HOSTS]
[--announcer-zk-path-prefix PATH] [--recover]``.

Started by the Mesos agent in the task's sandbox, with the agent's coordinates in the
environment (``MESOS_AGENT_ENDPOINT``, ``MESOS_FRAMEWORK_ID``...). Its own log goes to
stderr, which the agent keeps as the sandbox's ``stderr`` file. SIGTERM and SIGINT shut it
down as the agent's SHUTDOWN does. Exit status 0, or 1 with one line on stderr when the
environment is not an agent's.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from aurora_provider.errors import run_command
from aurora_provider.mesos.executor import ExecutorEnvironment, MesosExecutorDriver

from ..core.users import runner_user
from ..enforcement import add_arguments, from_args
from ..services.announcer import checked_root
from .executor import AuroraExecutor

log = logging.getLogger("aurora-executor")

DEFAULT_CHECKPOINT_ROOT = Path("/var/run/thermos")  # Aurora's, where the observer looks


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aurora-executor", description=__doc__.split("\n\n")[1])
    p.add_argument("--checkpoint-root", help="where tasks checkpoint (default "
                   "$AURORA_CHECKPOINT_ROOT, else /var/run/thermos when it can be created, "
                   "else $MESOS_SANDBOX/.thermos)")  # fmt: skip
    p.add_argument("--announcer-ensemble", metavar="HOSTS",
                   help="ZooKeeper hosts for Announcers (the task data's ensemble wins)")
    p.add_argument("--announcer-zk-path-prefix", metavar="PATH",
                   help="the serversets' root, as Aurora's --announcer-serverset-path "
                   "(default /aurora; the task data's wins)")
    p.add_argument("--log-level", default="INFO",
                   choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--recover", action="store_true",
                   help="take back the task this sandbox already runs (re-attach to its "
                        "runner) instead of waiting for a LAUNCH")
    p.add_argument("--ack-timeout", type=float, default=15.0, metavar="SECONDS",
                   help="how long to wait for the agent to acknowledge the task's end")
    p.add_argument("--nosetuid", action="store_true",
                   help="run tasks as this executor's user even when it is root (by default "
                        "a root executor runs each task as its role's Unix user)")
    add_arguments(p)
    return p


def checkpoint_root(flag: str | None, env: Mapping[str, str], sandbox: Path) -> Path:
    """The flag, ``$AURORA_CHECKPOINT_ROOT``, Aurora's ``/var/run/thermos``, or the sandbox."""
    if flag:
        return Path(flag)
    if env.get("AURORA_CHECKPOINT_ROOT"):
        return Path(env["AURORA_CHECKPOINT_ROOT"])
    try:
        DEFAULT_CHECKPOINT_ROOT.mkdir(parents=True, exist_ok=True)
        if os.access(DEFAULT_CHECKPOINT_ROOT, os.W_OK | os.X_OK):
            return DEFAULT_CHECKPOINT_ROOT
        problem = "not writable"
    except OSError as e:
        problem = e.strerror or str(e)
    fallback = sandbox / ".thermos"
    log.warning("cannot use %s (%s): checkpoints go to %s, where the observer does not look",
                DEFAULT_CHECKPOINT_ROOT, problem, fallback)
    return fallback


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per call otherwise
    return run_command("aurora-executor", lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    env = ExecutorEnvironment.from_env(os.environ)  # not an agent's environment: one line
    if args.announcer_zk_path_prefix is not None:
        checked_root(args.announcer_zk_path_prefix)  # a bad one: one line, before any task
    sandbox = Path(env.sandbox or os.getcwd())  # the agent starts us in the sandbox
    root = checkpoint_root(args.checkpoint_root, os.environ, sandbox)
    log.info("executor %s of framework %s: sandbox %s, checkpoints in %s", env.executor_id,
             env.framework_id, sandbox, root)
    setuid = os.geteuid() == 0 and not args.nosetuid
    if setuid:
        log.info("tasks run as their role's user")
    else:
        log.info("tasks run as %s, the executor's own user (%s): a task can read what that "
                 "user can", runner_user().name, "--nosetuid" if args.nosetuid else "not root")
    executor = AuroraExecutor(checkpoint_root=root, mesos_sandbox=sandbox,
                              announcer_ensemble=args.announcer_ensemble,
                              announcer_zk_path_prefix=args.announcer_zk_path_prefix,
                              ack_timeout=args.ack_timeout, setuid=setuid,
                              enforcement=from_args(args))  # fmt: skip
    driver = MesosExecutorDriver(executor)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        executor.ask_shutdown(f"the executor received {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    driver.start()
    try:
        return executor.run(driver, recover=args.recover)
    finally:
        driver.stop()
        driver.join(10)
