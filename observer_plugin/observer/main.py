"""``aurora-observer``: the per-agent observer service (tasks, resources, sandboxes, logs).

``aurora-observer [--listen HOST:PORT] [--checkpoint-root DIR]... [--fd N]
[--sample-interval SECS] [--disk-interval SECS] [--history N]``

With ``--fd N`` it serves on a listening socket inherited from its parent (which bound it,
so no port can be taken in between) and exits when that parent goes away. A bad flag, a
port in use or a checkpoint root that is not a directory is one line and exit status 2, 1
and 1. SIGTERM and SIGINT stop it cleanly (status 0).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

import uvicorn

from aurora_provider.errors import run_command

from .app import create_app
from .errors import ObserverError
from .service import Observer, Settings

PROG = "aurora-observer"
log = logging.getLogger("observer_plugin.observer")


def default_root() -> Path:
    """The local backend's checkpoints: ``$AURORA_HOME/scheduler/checkpoints``
    (``~/.aurora`` when ``AURORA_HOME`` is not set)."""
    home = Path(os.environ.get("AURORA_HOME") or Path.home() / ".aurora")
    return home / "scheduler" / "checkpoints"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the usage block: what is wrong, and where to read more."""
        self.exit(2, f"{PROG}: {message} (see {PROG} --help)\n")


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HOST:PORT")
    return host.strip("[]"), int(port)


def _positive(kind: type[float] | type[int]) -> argparse._ActionType:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
        return value

    return parse


def parser() -> argparse.ArgumentParser:
    d = Settings(roots=())
    p = _Parser(prog=PROG, description="The Aurora observer of this host's tasks.")
    p.add_argument("--listen", type=_listen, default=("127.0.0.1", 1338), metavar="HOST:PORT",
                   help="where to serve (default 127.0.0.1:1338; ignored with --fd)")
    p.add_argument("--checkpoint-root", type=Path, action="append", metavar="DIR",
                   help="an executor checkpoint root; repeat for several "
                        f"(default {default_root()})")  # fmt: skip
    p.add_argument("--fd", type=int, metavar="N",
                   help="serve on this inherited listening socket; exit when the parent does")
    p.add_argument("--sample-interval", type=_positive(float), default=d.sample_interval,
                   metavar="SECS", help="CPU and RSS sampling period (%(default)g)")
    p.add_argument("--disk-interval", type=_positive(float), default=d.disk_interval,
                   metavar="SECS", help="sandbox disk use period (%(default)g)")
    p.add_argument("--history", type=_positive(int), default=d.history, metavar="N",
                   help="resource samples kept per task (%(default)d)")
    p.add_argument("--log-level", default="INFO")
    return p


def check_roots(roots: Sequence[Path]) -> tuple[Path, ...]:
    """The roots, absolute; one that exists but is not a directory is an error. A missing one
    is accepted (an agent has none until its first task) and read once it appears."""
    checked = []
    for root in roots:
        root = root.expanduser().absolute()
        if root.exists() and not root.is_dir():
            raise ObserverError(f"--checkpoint-root {root}: not a directory")
        if not root.exists():
            log.warning("checkpoint root %s does not exist (yet): no tasks there", root)
        checked.append(root)
    return tuple(checked)


def listening_socket(args: argparse.Namespace) -> socket.socket:
    if args.fd is not None:
        try:
            sock = socket.socket(fileno=args.fd)
        except OSError as e:
            raise ObserverError(f"--fd {args.fd}: not an open socket ({e.strerror})") from e
        if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0:
            raise ObserverError(f"--fd {args.fd}: the socket is not listening")
        return sock
    host, port = args.listen
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise ObserverError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def watch_parent(server: uvicorn.Server, parent: int) -> threading.Thread:
    """Stop ``server`` once the process that started us is gone (we were reparented)."""
    stopped = threading.Event()

    def watch() -> None:
        while not stopped.wait(1.0):
            if os.getppid() != parent:
                log.info("parent process %d is gone: stopping", parent)
                server.should_exit = True
                return

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def _quiet(_sig: int, _frame: FrameType | None) -> None:
    """uvicorn re-raises the signal that stopped it once it is done: let that one pass."""


def run(args: argparse.Namespace) -> int:
    roots = check_roots(args.checkpoint_root or [default_root()])
    parent = os.getppid()
    sock = listening_socket(args)
    settings = Settings(roots=roots, sample_interval=args.sample_interval,
                        disk_interval=args.disk_interval, history=args.history)  # fmt: skip
    app = create_app(Observer(settings))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                            interface="asgi3")  # fmt: skip
    server = uvicorn.Server(config)
    if args.fd is not None:
        watch_parent(server, parent)
    host, port = sock.getsockname()[:2]
    log.info("%s on http://%s:%d reading %s", PROG, host, port, ", ".join(map(str, roots)))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _quiet)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0 if server.started else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_command(PROG, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
