"""The one error root of the project, and how a command line turns it into one line.

Every package's own root derives from :class:`AuroraError` (the language's ``ConfigError``,
the executor's ``ExecutorError``, the API's ``ApiError``, the scheduler's ``SchedulerError``,
the state machines' ``IllegalTransition``...), so a caller that only wants "an error meant
for the user" catches one class. ``str(error)`` is always one line: what is wrong, where,
and when it helps, how to fix it.

This module imports nothing of the project: every package may import it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

EXIT_USER_ERROR = 1


class AuroraError(Exception):
    """Root of every error the project raises on purpose; ``str(e)`` is one line."""


def run_command(prog: str, command: Callable[[], int], *,
                stderr: TextIO | None = None) -> int:
    """Run a command line's body: its exit status, or one ``prog: message`` line and 1.

    A ``BrokenPipeError`` (``... | head``) ends quietly; anything that is not an
    ``AuroraError`` is a bug of ours and keeps its traceback.
    """
    try:
        return command()
    except AuroraError as e:
        print(f"{prog}: {e}", file=stderr or sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        return 0
