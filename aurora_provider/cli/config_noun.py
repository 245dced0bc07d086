"""``aurora config ...``: questions about a configuration file."""

from __future__ import annotations

import argparse
from typing import Any

from aurora_provider.cli.common import add_config_arguments, load_config


def register(nouns: Any) -> None:
    noun = nouns.add_parser("config", help="inspect configuration files")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="print the job keys a file defines, one per line")
    add_config_arguments(listing)
    listing.set_defaults(handler=list_jobs)


def list_jobs(args: argparse.Namespace) -> int:
    for key in load_config(args).job_keys():
        print(key)
    return 0
