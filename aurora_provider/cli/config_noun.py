"""``aurora config ...``: questions about a configuration file, and its upgrade to Python 3."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from aurora_provider.cli.common import add_config_arguments, load_config
from aurora_provider.config import py2
from aurora_provider.config.errors import ConfigError


def register(nouns: Any) -> None:
    noun = nouns.add_parser("config", help="inspect configuration files")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)
    listing = verbs.add_parser("list", help="print the job keys a file defines, one per line")
    add_config_arguments(listing)
    listing.set_defaults(handler=list_jobs)
    upgrading = verbs.add_parser(
        "upgrade",
        help="translate a Python 2 .aurora file to Python 3 (to stdout, or --output OUT)",
    )
    upgrading.add_argument("config_file", metavar="FILE", help="the Python 2 .aurora file")
    upgrading.add_argument(
        "--output", metavar="OUT",
        help="write the translation to OUT (may be FILE itself) instead of printing it",
    )
    upgrading.set_defaults(handler=upgrade)


def list_jobs(args: argparse.Namespace) -> int:
    for key in load_config(args).job_keys():
        print(key)
    return 0


def upgrade(args: argparse.Namespace) -> int:
    # Printing by default: the user sees (or diffs) the translation before replacing anything.
    path = Path(args.config_file)
    try:
        source = path.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the configuration: {e.strerror}") from e
    translated = py2.upgrade(source, str(path))
    if translated is None:
        print(f"{path} is already Python 3: nothing to upgrade", file=sys.stderr)
        return 0
    if args.output is None:
        sys.stdout.write(translated)
        return 0
    try:
        Path(args.output).write_text(translated)
    except OSError as e:
        raise ConfigError(f"{args.output}: cannot write the upgraded file: {e.strerror}") from e
    print(f"wrote {args.output}: {path} in Python 3", file=sys.stderr)
    return 0
