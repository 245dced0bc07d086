"""Arguments and loading shared by the verbs that read a configuration file."""

from __future__ import annotations

import argparse
from typing import Any

from aurora_provider.config import AuroraConfig, load, load_json


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE [--bind NAME=VALUE]... [--read-json]``, as Aurora's client took them."""
    parser.add_argument("config_file", metavar="FILE", help="the .aurora (or JSON) file")
    parser.add_argument(
        "--bind",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="bind a template variable, e.g. --bind version=1.2 (repeatable)",
    )
    parser.add_argument(
        "--read-json",
        action="store_true",
        help='FILE is JSON: {"jobs": [...]} or a single job',
    )


def load_config(args: argparse.Namespace) -> AuroraConfig:
    """The configuration named by ``add_config_arguments``' arguments."""
    if args.read_json:
        return load_json(args.config_file, bindings=args.bind)
    return load(args.config_file, bindings=args.bind)


def pick_job(args: argparse.Namespace) -> Any:
    """The job ``args.job_key`` of the configuration, bound and validated."""
    return load_config(args).pick(args.job_key)
