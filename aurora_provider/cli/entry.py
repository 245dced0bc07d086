"""The one way every command line of the provider runs, and the errors of the CLI itself.

``aurora``, ``aurora-admin`` and ``airflow aurora ...`` parse their arguments, then run the
command through :func:`aurora_provider.errors.run_command`: any ``AuroraError`` (a bad file,
an unknown cluster, a refused request, a wait that ran out of time) is one ``prog: message``
line on stderr and exit status 1; only a bug of ours shows a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from aurora_provider.errors import EXIT_USER_ERROR, AuroraError, run_command


class WaitTimeout(AuroraError):
    """A wait of the CLI (``--wait``, ``--wait-until``, ``update wait``) ran out of time."""


def run_main(prog: str, parser: argparse.ArgumentParser, argv: Sequence[str] | None,
             command: Callable[[argparse.Namespace], int]) -> int:
    """Parse ``argv`` (default: the process's), run ``command(args)``: its exit status."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error argparse already reported
        return e.code if isinstance(e.code, int) else EXIT_USER_ERROR
    return run_command(prog, lambda: command(args))
