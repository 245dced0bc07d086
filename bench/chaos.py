"""Crash safety: the real daemon kill -9'd at random moments of a create, a rolling update, a
cron run and a rolling restart, many seeded trials each (``tests/chaos.py``).

After each kill the daemon is started again on the same work dir, and the trial checks that
the operation completed, no instance was lost or duplicated and no runner was orphaned.
Reports, per scenario, the trials that held and those that did not (with their seed and
kill delay, to replay one: ``--scenario S --seeds N --first SEED``), and the median time a
trial took against the median of the same scenario run without a kill in the same run (the
cost of a crash, restart included).

Run: ``.venv/bin/python bench/chaos.py`` (about a minute with ``--seeds 5``).
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tests.chaos as chaos
from tests.daemon import Daemon


def trials(scenario: str, seeds: range, root: Path, *, crash: bool) -> tuple[list[float],
                                                                           list[str]]:
    """Durations of the trials that held; one line per trial that did not."""
    held: list[float] = []
    failed: list[str] = []
    for seed in seeds:
        work = root / f"{scenario}-{seed}-{'crash' if crash else 'calm'}"
        daemon = Daemon(work / "work", work / "home", [])
        daemon.start()
        try:
            trial = chaos.run_trial(daemon, work, scenario, seed,
                                    crash=chaos.kill_9 if crash else chaos.no_crash)
            held.append(trial.seconds)
        except AssertionError as e:
            failed.append(f"{scenario} seed {seed}: {' '.join(str(e).split())[:300]}")
        finally:
            daemon.stop(signal.SIGKILL)
            daemon.kill_runners()
    return held, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="trials per scenario")
    parser.add_argument("--first", type=int, default=1, help="the first seed")
    parser.add_argument("--scenario", choices=sorted(chaos.SCENARIOS), action="append",
                        help="only these (repeatable; default: all)")
    args = parser.parse_args()
    seeds = range(args.first, args.first + args.seeds)
    failures: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aurora-chaos-") as tmp:
        root = Path(tmp)
        for scenario in args.scenario or sorted(chaos.SCENARIOS):
            calm, calm_failed = trials(scenario, range(1), root, crash=False)
            held, failed = trials(scenario, seeds, root, crash=True)
            failures += calm_failed + failed
            base = statistics.median(calm) if calm else float("nan")
            med = statistics.median(held) if held else float("nan")
            print(f"{scenario:8s} {len(held)}/{len(seeds)} trials held; median {med:.2f} s "
                  f"per trial, {med / base:.2f}x the same operation without a kill "
                  f"({base:.2f} s)")
    for line in failures:
        print(f"FAILED {line}")
    print(f"{len(failures)} failed; {time.monotonic() - started:.0f} s in all")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
