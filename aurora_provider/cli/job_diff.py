"""``aurora job diff KEY[/INSTANCES] FILE``: what the file would change in the running job
(with INSTANCES, such as ``0-2``: in those instances only, as a scoped update would).

First the scheduler's verdict per instance (add, remove, update, unchanged) and the changed
fields, then a unified diff of the two configurations as pretty JSON (the running one is the
job's newest stored configuration). With ``$DIFF_VIEWER`` set, that command is run on the two
files instead (running first, as Aurora did), e.g. ``DIFF_VIEWER="diff -y"``. The exit status
is 0 either way.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError
from aurora_provider.cli.common import add_config_arguments, load_config
from aurora_provider.cli.scheduler_cli import (
    add_verb,
    client_for,
    parse_instances,
    print_json,
    split_key,
)
from aurora_provider.config import job_to_wire


def _pretty(job: m.JobConfiguration) -> list[str]:
    text = json.dumps(job.model_dump(mode="json"), indent=2, sort_keys=True)
    return [f"{line}\n" for line in text.splitlines()]


def _view(viewer: str, running: list[str], local: list[str], key: str) -> None:
    """Run ``$DIFF_VIEWER RUNNING LOCAL`` on two temporary files."""
    command = shlex.split(viewer)
    if not command:
        raise ClusterError("DIFF_VIEWER is set but empty: unset it or name a command")
    with tempfile.TemporaryDirectory(prefix="aurora-diff-") as tmp:
        files = [Path(tmp) / f"{key.replace('/', '.')}.{side}.json"
                 for side in ("running", "local")]
        for path, lines in zip(files, (running, local), strict=True):
            path.write_text("".join(lines))
        try:
            subprocess.run([*command, *map(str, files)], check=False)
        except OSError as e:
            raise ClusterError(f"DIFF_VIEWER {viewer!r} cannot be run: {e.strerror}") from e


def _only(result: m.JobDiff, instances: list[int], key: str) -> m.JobDiff:
    """The verdicts of ``instances`` alone, as ``update start KEY/INSTANCES`` would act on
    them; each must be running or in the new configuration (Aurora's rule for a scope)."""
    known = {*result.add, *result.remove, *result.update, *result.unchanged}
    stray = sorted(set(instances) - known)
    if stray:
        raise ClusterError(f"job {key}: instances {stray} are neither running nor in the "
                           f"configuration file; name instances of either")
    wanted = set(instances)
    return result.model_copy(update={
        name: [i for i in getattr(result, name) if i in wanted]
        for name in ("add", "remove", "update", "unchanged")})


def diff(args: argparse.Namespace) -> int:
    key, spec = split_key(args.job_key, with_instances=True)
    wire = job_to_wire(load_config(args).pick(str(key)))
    with client_for(key) as client:
        result = client.diff(wire)
        history = client.job_configs(key, limit=1)
    if spec is not None:
        result = _only(result, parse_instances(spec), str(key))
    if args.json:
        print_json(result)
        return 0
    for label, instances in (("add", result.add), ("remove", result.remove),
                             ("update", result.update), ("unchanged", result.unchanged)):
        if instances:
            print(f"{label}: instances {instances}")
    for line in result.changes:
        print(f"  {line}")
    if not (result.add or result.remove or result.update or result.changes):
        print("no changes")
    running_job = history.configs[0].job if history.configs else None
    running = _pretty(running_job) if running_job is not None else []
    local = _pretty(m.JobConfiguration.model_validate(wire))
    viewer = os.environ.get("DIFF_VIEWER")
    if viewer is not None:
        print(flush=True)  # our lines before the viewer's
        _view(viewer, running, local, str(key))
        return 0
    print("".join(difflib.unified_diff(running, local, fromfile=f"{key} (running)",
                                       tofile=f"{key} ({args.config_file})")), end="")
    return 0


def register_verbs(verbs: Any) -> None:
    p = add_verb(verbs, "diff", diff,
                 "compare a configuration file with the running job ($DIFF_VIEWER to view it)")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME[/INSTANCES]",
                   help="with /0-2 or /0,3,5-7: only those instances' verdicts")
    add_config_arguments(p)
