"""``aurora task run|ssh|scp``: commands and files in the sandboxes of a job's instances.

On a local-backend cluster the sandboxes are on this machine and are used directly; on
Mesos the instance's host is reached with ``ssh``/``scp`` as the role (``--ssh-user`` to
change it), as Aurora's client did. ``-e`` picks the executor's sandbox (the directory the
task's sandbox is in) instead of the task's.
"""

from __future__ import annotations

import argparse
from typing import Any

from aurora_provider.cli.task_run import run, ssh
from aurora_provider.cli.task_scp import scp


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ssh-user", "-l", default=None, metavar="USER",
                   help="log in to the agent as USER (default: the job's role; Mesos only)")
    p.add_argument("-e", "--executor-sandbox", action="store_true",
                   help="use the executor's sandbox, not the task's")


def register(nouns: Any) -> None:
    noun = nouns.add_parser("task", help="run commands and copy files in tasks' sandboxes")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)

    text = ("run a shell command in the sandbox of every live instance (or those named), "
            "with {{mesos.instance}}, {{mesos.hostname}}, {{thermos.task_id}} and "
            "{{thermos.ports[NAME]}} bound per instance")
    p = verbs.add_parser("run", help="run a command in instances' sandboxes", description=text)
    p.add_argument("--threads", "-t", type=int, default=1, metavar="N",
                   help="instances to run the command in at a time (default 1)")
    _add_common(p)
    p.add_argument("instance_key", metavar="CLUSTER/ROLE/ENV/NAME[/INSTANCES]")
    p.add_argument("cmd", metavar="CMD", help="the shell command line")
    p.set_defaults(handler=run)

    text = "open a shell in one instance's sandbox, or run --command there"
    p = verbs.add_parser("ssh", help=text, description=text)
    _add_common(p)
    p.add_argument("--tunnels", "-L", action="append", default=[], metavar="PORT:NAME",
                   help="forward local PORT to the task's port NAME (or ssh's "
                        "PORT:HOST:PORT); repeatable; Mesos only")
    p.add_argument("--command", "-c", default=None, metavar="CMD",
                   help="run CMD instead of an interactive shell")
    p.add_argument("instance_key", metavar="CLUSTER/ROLE/ENV/NAME/INSTANCE")
    p.set_defaults(handler=ssh)

    text = ("copy files to, from or between sandboxes: CLUSTER/ROLE/ENV/NAME/INSTANCE:PATH, "
            "PATH relative to the sandbox")
    p = verbs.add_parser("scp", help="copy files to or from instances' sandboxes",
                         description=text)
    _add_common(p)
    p.add_argument("-r", "--recursive", action="store_true", help="copy directories")
    p.add_argument("source", nargs="+", metavar="SRC")
    p.add_argument("dest", metavar="DEST")
    p.set_defaults(handler=scp)
