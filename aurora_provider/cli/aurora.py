"""The ``aurora`` command: ``aurora NOUN VERB ...`` as Aurora's client had it.

Each noun lives in its own module exposing ``register(nouns)``, which adds the noun's parser
and its verbs to the top-level subparsers; a verb stores its handler as ``handler``
(``(args) -> int``) in the parsed namespace. Adding a noun is one line in ``NOUN_MODULES``.
``-v``/``--verbose`` (``cli.verbose``) is added to every parser and logs the requests made.

Errors users cause (a bad file, an unknown job, a scheduler refusing a request) are printed
as one line on stderr with exit status 1 (``cli.entry.run_main``); only a bug of ours shows a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from aurora_provider import __version__
from aurora_provider.cli.entry import run_main
from aurora_provider.cli.verbose import add_verbose, verbose_command

NOUN_MODULES: tuple[str, ...] = (
    "aurora_provider.cli.config_noun",
    "aurora_provider.cli.job_noun",
    "aurora_provider.cli.update_noun",
    "aurora_provider.cli.cron_noun",
    "aurora_provider.cli.quota_noun",
    "aurora_provider.cli.sla_noun",
    "aurora_provider.cli.task_noun",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aurora",
        description="Work with Aurora jobs: read .aurora files, create and manage jobs.",
    )
    parser.add_argument("--version", action="version", version=f"aurora {__version__}")
    nouns = parser.add_subparsers(dest="noun", metavar="NOUN", required=True)
    for module in NOUN_MODULES:
        importlib.import_module(module).register(nouns)
    add_verbose(parser)  # after the nouns: it reaches every verb's parser
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aurora`` with ``argv`` (default: the process's arguments); return the exit code."""
    return run_main("aurora", build_parser(), argv,
                    verbose_command(lambda args: int(args.handler(args))))


if __name__ == "__main__":
    sys.exit(main())
