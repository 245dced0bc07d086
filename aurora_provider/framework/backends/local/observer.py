"""The local backend's observer: a child process serving the tasks of this host.

The scheduler binds the observer's listening socket itself, before anything else starts,
so a taken port is one clear line at start-up and port 0 has a real port to report. The
child (``python -m observer_plugin.observer --fd N``) inherits the bound socket; it is
started by name, so the scheduler never imports the observer. The parent keeps its copy
of the socket open: a child started again (a scheduler that stops and starts, as a
deposed and re-elected leader does) serves on the same port, and a request arriving in
between waits in the socket's backlog.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from pathlib import Path

from aurora_provider.framework.errors import SchedulerError

log = logging.getLogger("aurora_provider.framework")

OBSERVER_MODULE = "observer_plugin.observer"
FLAG = "--observer-listen"


def observer_url(host: str, port: int) -> str:
    """The URL the UI reaches the observer at; a wildcard address becomes the ``{host}``
    the UI fills in with the task's host."""
    if host in ("", "0.0.0.0", "::"):
        host = "{host}"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class ObserverProcess:
    """The observer child of one scheduler process: bound once, started and stopped with
    the scheduler (any number of times), closed when the process ends.

    :param sock: the bound, listening socket the child serves on.
    :param checkpoint_root: the local backend's checkpoint root, which the child reads.
    :param log_file: where the child's output is appended.
    :param grace_secs: how long a stopping child has after SIGTERM before SIGKILL.
    """

    def __init__(self, sock: socket.socket, checkpoint_root: Path, log_file: Path, *,
                 grace_secs: float = 5.0) -> None:
        self._sock = sock
        self.checkpoint_root = checkpoint_root
        self.log_file = log_file
        self.grace_secs = grace_secs
        self._proc: subprocess.Popen[bytes] | None = None
        host, port = sock.getsockname()[:2]
        self.url = observer_url(str(host), int(port))

    @classmethod
    def bind(cls, host: str, port: int, checkpoint_root: Path,
             log_file: Path) -> ObserverProcess:
        """Bind ``host:port`` (0: any free port); a taken one is a one-line error."""
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
        except OSError as e:
            sock.close()
            raise SchedulerError(
                f"cannot listen on {host}:{port} for the observer: {e.strerror or e}; "
                f"choose another {FLAG} HOST:PORT (or {FLAG} off)") from e
        return cls(sock, checkpoint_root, log_file)

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def start(self) -> None:
        """Start the child unless it runs."""
        if self.pid is not None:
            return
        self.checkpoint_root.mkdir(parents=True, exist_ok=True)  # the child wants it there
        fd = self._sock.fileno()
        argv = [sys.executable, "-m", OBSERVER_MODULE, "--fd", str(fd),
                "--checkpoint-root", str(self.checkpoint_root)]
        with open(self.log_file, "ab") as out:
            self._proc = subprocess.Popen(argv, pass_fds=(fd,), stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=subprocess.STDOUT)
        log.info("observer (pid %d) on %s, log %s", self._proc.pid, self.url, self.log_file)

    def stop(self) -> None:
        """Stop the child: SIGTERM, then SIGKILL after the grace period."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=self.grace_secs)
            except subprocess.TimeoutExpired:
                log.warning("observer (pid %d) ignored SIGTERM: killed", proc.pid)
                proc.kill()
                proc.wait()
        if proc.returncode not in (0, -15):
            log.warning("observer (pid %d) exited with %s: see %s", proc.pid, proc.returncode,
                        self.log_file)

    def close(self) -> None:
        """Stop the child and give the port back."""
        self.stop()
        self._sock.close()
