"""The ``aurora`` command: ``aurora NOUN VERB ...`` as Aurora's client had it.

Each noun lives in its own module exposing ``register(nouns)``, which adds the noun's parser
and its verbs to the top-level subparsers; a verb stores its handler as ``handler``
(``(args) -> int``) in the parsed namespace. Adding a noun is one line in ``NOUN_MODULES``.

Errors users cause (a bad file, an unknown job, a scheduler refusing a request) are printed
as one line on stderr with a non-zero exit status; only a bug of ours shows a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from aurora_provider.config import ConfigError

NOUN_MODULES: tuple[str, ...] = (
    "aurora_provider.cli.config_noun",
    "aurora_provider.cli.job_noun",
    "aurora_provider.cli.update_noun",
    "aurora_provider.cli.cron_noun",
    "aurora_provider.cli.quota_noun",
)

# Exception roots whose message is meant for the user; a package adds its root here.
USER_ERRORS: tuple[type[Exception], ...] = (ConfigError,)

EXIT_USER_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aurora",
        description="Work with Aurora jobs: read .aurora files, create and manage jobs.",
    )
    nouns = parser.add_subparsers(dest="noun", metavar="NOUN", required=True)
    for module in NOUN_MODULES:
        importlib.import_module(module).register(nouns)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aurora`` with ``argv`` (default: the process's arguments); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error argparse already reported
        return e.code if isinstance(e.code, int) else EXIT_USER_ERROR
    try:
        code: int = args.handler(args)
    except USER_ERRORS as e:
        print(f"aurora: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # e.g. `aurora job inspect ... | head`
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
