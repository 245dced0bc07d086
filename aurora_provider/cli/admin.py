"""``aurora-admin``: cluster administration (quotas, maintenance, backups, housekeeping).

Built from ``admin_commands.ADMIN_COMMANDS``: every command takes the CLUSTER first, whose
scheduler comes from ``clusters.json`` (see ``clusters``). Errors are one line on stderr and
exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aurora_provider.api import ApiError
from aurora_provider.cli.admin_commands import ADMIN_COMMANDS
from aurora_provider.cli.clusters import ClusterError, get_cluster
from aurora_provider.config import ConfigError


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error argparse already reported
        return e.code if isinstance(e.code, int) else 1
    try:
        with get_cluster(args.cluster).client() as client:
            code: int = args.run(client, args)
    except (ApiError, ClusterError, ConfigError) as e:
        print(f"aurora-admin: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
