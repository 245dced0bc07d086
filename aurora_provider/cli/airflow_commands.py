"""``airflow aurora ...``: the provider's admin commands inside the Airflow CLI.

Named by the provider metadata's ``cli`` key. ``get_aurora_cli_commands`` runs on every
``airflow`` call, so it only builds argparse descriptions; the work is imported lazily.
Each command talks to the scheduler of an Airflow connection (``--conn-id``). The admin
commands are ``aurora-admin``'s own (``cli/admin_commands.py``), with the connection in place
of aurora-admin's CLUSTER argument.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.cli.cli_config import ActionCommand, Arg, GroupCommand, lazy_load_command

from aurora_provider.cli.admin_commands import ADMIN_COMMANDS, AdminCommand

ARG_CONN_ID = Arg(
    ("--conn-id",),
    help="the Aurora connection (default aurora_default: the local devcluster)",
    default="aurora_default",
)
ARG_PATTERN = Arg(("pattern",), nargs="?", default=None,
                  help="CLUSTER[/ROLE[/ENV[/NAME]]] with * wildcards (default: every job)")
ARG_JSON = Arg(("--json",), action="store_true", help="print JSON")

_ACTIONS = "aurora_provider.cli.airflow_actions"


def _admin_action(name: str) -> Callable[[Any], None]:
    def command(args: Any) -> None:
        from aurora_provider.cli.airflow_actions import run_admin

        run_admin(name, args)

    command.__name__ = name.replace("-", "_")
    return command


def _admin_command(command: AdminCommand) -> ActionCommand:
    args = [Arg(arg.flags, **arg.options) for arg in command.args]
    return ActionCommand(name=command.name, help=command.help,
                         func=_admin_action(command.name), args=(ARG_CONN_ID, *args))


def get_aurora_cli_commands() -> list[Any]:
    return [
        GroupCommand(
            name="aurora",
            help="Operate the Aurora scheduler named by an Airflow connection",
            subcommands=[
                ActionCommand(
                    name="cluster",
                    help="Show the scheduler (cluster, backend, leadership) and who you are",
                    func=lazy_load_command(f"{_ACTIONS}.cluster"),
                    args=(ARG_CONN_ID, ARG_JSON),
                ),
                ActionCommand(
                    name="jobs",
                    help="List the scheduler's jobs, with their tasks by state",
                    func=lazy_load_command(f"{_ACTIONS}.jobs"),
                    args=(ARG_CONN_ID, ARG_PATTERN, ARG_JSON),
                ),
                *(_admin_command(command) for command in ADMIN_COMMANDS),
            ],
        )
    ]
