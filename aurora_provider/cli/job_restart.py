"""``aurora job restart KEY[/INSTANCES]``: a rolling restart with Aurora's options.

The scheduler runs it (it survives the CLI and the scheduler restarting): ``--batch-size``
instances at a time; an instance is restarted once its new task has been RUNNING for
``--watch-secs``; a new task that dies before is a failure of its instance, more than
``--max-per-instance-failures`` (-1: no limit) fail the instance, and more than
``--max-total-failures`` failed instances fail the restart. ``--wait`` follows it to the end:
exit 0 when DONE, else 1 with the scheduler's reason.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError
from aurora_provider.cli.entry import WaitTimeout
from aurora_provider.cli.progress import Progress
from aurora_provider.cli.scheduler_cli import (
    add_verb,
    client_for,
    parse_instances,
    print_json,
    split_key,
)
from aurora_provider.errors import AuroraError
from aurora_provider.states.restart import RestartState

DEFAULT_WATCH_SECS = 30  # Aurora's WATCH_OPTION


class RestartFailed(AuroraError):
    """The restart ended FAILED or ABORTED; ``str(e)`` says why, in one line."""


def _counts(r: m.RestartModel) -> str:
    failed = f", {len(r.failed)} failed" if r.failed else ""
    return (f"{len(r.done)} done, in flight {r.in_flight}, {len(r.pending)} pending"
            f"{failed}")


def restart(args: argparse.Namespace) -> int:
    if args.max_total_failures < 0:
        raise ClusterError(f"--max-total-failures {args.max_total_failures}: must be >= 0")
    if args.batch_size < 1:
        raise ClusterError(f"--batch-size {args.batch_size}: must be at least 1")
    if args.watch_secs < 0:
        raise ClusterError(f"--watch-secs {args.watch_secs:g}: must be >= 0")
    key, spec = split_key(args.job_key, with_instances=True)
    instances = parse_instances(spec) if spec else None
    with client_for(key) as client:
        result = client.restart(key, instances, args.batch_size, watch_secs=args.watch_secs,
                                max_per_instance_failures=max(-1, args.max_per_instance_failures),
                                max_total_failures=args.max_total_failures)
        if args.wait:
            progress = Progress(f"restarting {key} in batches of {args.batch_size}")
            started = time.monotonic()
            try:
                while result.state is RestartState.ACTIVE:
                    if args.wait_timeout is not None and \
                            time.monotonic() - started > args.wait_timeout:
                        raise WaitTimeout(f"restart of {key} still ACTIVE after "
                                          f"{args.wait_timeout:g} s ({_counts(result)})")
                    time.sleep(0.5)
                    result = client.restart_status(key)
                    progress.update(_counts(result))
            finally:
                progress.close()
    if args.json:
        print_json(result)
    else:
        print(f"restart of {result.key}: {result.state} ({len(result.done)} done, "
              f"{len(result.pending) + len(result.in_flight)} to go)")
    if result.state in (RestartState.FAILED, RestartState.ABORTED):
        raise RestartFailed(f"restart of {result.key} {result.state}: "
                            f"{result.message or 'no reason given'}")
    return 0


def register_verbs(verbs: Any) -> None:
    p = add_verb(verbs, "restart", restart, "restart a job's instances in rolling batches")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME[/INSTANCES]")
    p.add_argument("--batch-size", type=int, default=1, metavar="N",
                   help="instances restarted at a time (default 1)")
    p.add_argument("--watch-secs", type=float, default=DEFAULT_WATCH_SECS, metavar="SECS",
                   help="how long a new task must stay RUNNING to count as restarted "
                        f"(default {DEFAULT_WATCH_SECS})")
    p.add_argument("--max-per-instance-failures", type=int, default=0, metavar="N",
                   help="failed new tasks an instance may have; negative: no limit "
                        "(default 0)")
    p.add_argument("--max-total-failures", type=int, default=0, metavar="N",
                   help="failed instances the restart may have (default 0)")
    p.add_argument("--wait", action="store_true", help="wait until the restart ends")
    p.add_argument("--wait-timeout", type=float, metavar="SECS")
