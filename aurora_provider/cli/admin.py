"""``aurora-admin``: cluster administration (quotas, maintenance, backups, housekeeping).

Built from ``admin_commands.ADMIN_COMMANDS``: every command takes the CLUSTER first, whose
scheduler comes from ``clusters.json`` (see ``clusters``). Errors are one line on stderr and
exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aurora_provider.cli.admin_commands import ADMIN_COMMANDS
from aurora_provider.cli.clusters import get_cluster
from aurora_provider.cli.entry import run_main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aurora-admin", description="Administer an Aurora cluster: quotas, host "
        "maintenance, backups and task housekeeping (admin token required).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in ADMIN_COMMANDS:
        p = commands.add_parser(command.name, help=command.help, description=command.help)
        p.add_argument("cluster", metavar="CLUSTER", help="the cluster's name")
        for arg in command.args:
            p.add_argument(*arg.flags, **arg.options)
        p.set_defaults(run=command.run)
    return parser


def _run(args: argparse.Namespace) -> int:
    with get_cluster(args.cluster).client() as client:
        return int(args.run(client, args))


def main(argv: Sequence[str] | None = None) -> int:
    return run_main("aurora-admin", build_parser(), argv, _run)


if __name__ == "__main__":
    sys.exit(main())
