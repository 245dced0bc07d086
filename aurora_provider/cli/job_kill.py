"""``aurora job kill KEY/INSTANCES`` and ``aurora job killall KEY``, batched as Aurora's were.

The instances are killed ``--batch-size`` at a time (Aurora's default 1; ``--no-batching``:
all at once), and each batch must be gone (no active task left) within ``--wait-timeout``
before the next starts. A batch that is not counts one failure; more than
``--max-total-failures`` and the kill stops, naming the instances not killed. Aurora's kill
always blocked, so ours does too: ``--wait`` is kept only as an alias of that.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from aurora_provider.api import SchedulerClient
from aurora_provider.api import models as m
from aurora_provider.cli.clusters import ClusterError
from aurora_provider.cli.progress import Progress
from aurora_provider.cli.scheduler_cli import (
    add_verb,
    client_for,
    parse_instances,
    print_json,
    split_key,
)
from aurora_provider.config import JobKey
from aurora_provider.errors import AuroraError

DEFAULT_BATCH_SIZE = 1  # Aurora's BATCH_OPTION
DEFAULT_WAIT_SECS = 300.0


class KillFailed(AuroraError):
    """More batches than ``--max-total-failures`` were not gone in time."""


def kill(args: argparse.Namespace) -> int:
    key, spec = split_key(args.instance_key, with_instances=True)
    if spec is None:
        raise ClusterError(f"{args.instance_key!r}: name the instances, e.g. {key}/0,2-4 "
                           "(or use 'aurora job killall')")
    return _kill(args, key, parse_instances(spec))


def killall(args: argparse.Namespace) -> int:
    key, _ = split_key(args.job_key, with_instances=False)
    return _kill(args, key, None)


def _batches(instances: list[int], args: argparse.Namespace) -> list[list[int]]:
    if args.no_batching:
        return [instances]
    if args.batch_size < 1:
        raise ClusterError(f"--batch-size {args.batch_size}: must be at least 1")
    size = args.batch_size
    return [instances[i:i + size] for i in range(0, len(instances), size)]


def _kill(args: argparse.Namespace, key: JobKey, wanted: list[int] | None) -> int:
    if args.max_total_failures < 0:
        raise ClusterError(f"--max-total-failures {args.max_total_failures}: must be >= 0")
    with client_for(key) as client:
        active = client.job_task_lists(key, terminal_limit=0).active
        present = sorted({t.instance for t in active})
        instances = present if wanted is None else sorted(set(wanted) & set(present))
        if not instances:
            raise ClusterError(f"no active tasks to kill in {key}"
                               + (f" among instances {wanted}" if wanted else ""))
        killed: list[str] = []
        failed: list[int] = []  # instances of batches not gone in time
        batches = _batches(instances, args)
        failures = 0  # batches not gone in time
        for index, batch in enumerate(batches):
            # Killing the whole job at once (no instances) also ends a restart of it.
            everything = wanted is None and len(batches) == 1
            result = client.kill(key, None if everything else batch, args.message)
            killed.extend(result.killed)
            if _gone(client, key, set(result.killed), args.wait_timeout):
                if not args.json:
                    print(f"killed instances {batch} of {key}")
                continue
            failed.extend(batch)
            failures += 1
            if failures > args.max_total_failures:
                left = sorted(failed + [i for b in batches[index + 1:] for i in b])
                raise KillFailed(
                    f"killing {key}: {failures} batch(es) not gone within "
                    f"{args.wait_timeout:g} s, more than --max-total-failures "
                    f"{args.max_total_failures}; instances not killed: {left}")
    response = m.KillResponse(key=str(key), killed=sorted(killed))
    if args.json:
        print_json(response)
    else:
        late = f" ({len(failed)} not gone in time: {sorted(failed)})" if failed else ""
        print(f"{len(killed)} task(s) of {key} killed{late}")
    return 1 if failed else 0


def _gone(client: SchedulerClient, key: JobKey, task_ids: set[str], timeout: float,
          interval: float = 0.5) -> bool:
    """Whether the tasks left the active set within ``timeout`` seconds (asked again soon
    at first, most tasks stop in a fraction of a second, then every ``interval``)."""
    progress = Progress(f"waiting for {len(task_ids)} task(s) of {key} to stop")
    deadline = time.monotonic() + timeout
    pause = 0.05
    try:
        while True:
            # Only the active tasks are read: the first terminal one ends the listing.
            active = client.job_task_lists(key, terminal_limit=0).active
            left = [t for t in active if t.task_id in task_ids]
            progress.update(f"{len(left)} still stopping")
            if not left:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(interval, pause * 2)
    finally:
        progress.close()


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--message", help="why; recorded with the kill")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, metavar="N",
                   help=f"instances killed at a time (default {DEFAULT_BATCH_SIZE})")
    p.add_argument("--no-batching", action="store_true",
                   help="kill every instance at once instead of in batches")
    p.add_argument("--max-total-failures", type=int, default=0, metavar="N",
                   help="batches that may fail to stop in time before the kill stops "
                        "(default 0)")
    p.add_argument("--wait-timeout", type=float, default=DEFAULT_WAIT_SECS, metavar="SECS",
                   help=f"how long a batch may take to stop (default {DEFAULT_WAIT_SECS:g})")
    p.add_argument("--wait", action="store_true",
                   help="kept for scripts: kill always waits for each batch, as Aurora's did")


def register_verbs(verbs: Any) -> None:
    p = add_verb(verbs, "kill", kill, "kill some instances of a job, in batches")
    p.add_argument("instance_key", metavar="CLUSTER/ROLE/ENV/NAME/INSTANCES")
    _options(p)
    p = add_verb(verbs, "killall", killall, "kill every instance of a job, in batches")
    p.add_argument("job_key", metavar="CLUSTER/ROLE/ENV/NAME")
    _options(p)
