"""``-v``/``--verbose`` on every ``aurora`` command: log each request made to a scheduler,
with its answer's status, on stderr (stdout stays what scripts read).

httpx already logs every request at INFO on its ``httpx`` logger; verbose mode shows that
logger on stderr for the command's duration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

REQUEST_LOGGER = "httpx"


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """``-v`` on ``parser`` and on every parser below it, so it may follow any verb."""
    parser.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="log each request to the scheduler and its status on stderr")
    for sub in _subparsers(parser):
        _add_below(sub)


def _add_below(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a sub-parser without -v must not reset what the top-level parser read.
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log each request to the scheduler and its status on stderr")
    for sub in _subparsers(parser):
        _add_below(sub)


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:  # argparse offers no public walk of its sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.values()


@contextmanager
def requests_logged(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    logger = logging.getLogger(REQUEST_LOGGER)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def verbose_command(command: Callable[[argparse.Namespace], Any]
                    ) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with requests_logged(bool(getattr(args, "verbose", False))):
            return int(command(args))

    return run
