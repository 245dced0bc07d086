"""Arguments and loading shared by the verbs that read a configuration file.

Configurations are loaded with the CLI's binding helpers (``config.binding_helpers``):
``{{docker.image[NAME][TAG]}}`` is pinned by digest from the Docker registry of the picked
job's cluster (``docker_registry`` in clusters.json), unless ``--bind`` sets it.
"""

from __future__ import annotations

import argparse
from typing import Any

from aurora_provider.api.docker_registry import docker_image_helper
from aurora_provider.cli.clusters import get_cluster
from aurora_provider.config import AuroraConfig, load, load_json
from aurora_provider.config.binding_helpers import BindingHelper


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE [--bind NAME=VALUE]... [--read-json]``, as Aurora's client took them."""
    parser.add_argument("config_file", metavar="FILE", help="the .aurora (or JSON) file")
    parser.add_argument(
        "--bind",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="bind a template variable, e.g. --bind version=1.2 (repeatable); also sets what "
             "a binding helper would look up: --bind 'docker.image[app][1.0]=app@sha256:...'",
    )
    parser.add_argument(
        "--read-json",
        action="store_true",
        help='FILE is JSON: {"jobs": [...]} or a single job',
    )


def binding_helpers() -> dict[str, BindingHelper]:
    """The CLI's binding helpers, by the first name of the refs each binds."""
    return {"docker": docker_image_helper(lambda cluster: get_cluster(cluster).registry())}


def load_config(args: argparse.Namespace) -> AuroraConfig:
    """The configuration named by ``add_config_arguments``' arguments."""
    if args.read_json:
        return load_json(args.config_file, bindings=args.bind, helpers=binding_helpers())
    return load(args.config_file, bindings=args.bind, helpers=binding_helpers())


def pick_job(args: argparse.Namespace) -> Any:
    """The job ``args.job_key`` of the configuration, bound and validated."""
    return load_config(args).pick(args.job_key)
