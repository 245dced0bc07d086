"""The scheduler daemon's own errors (start-up: flags, files, addresses).

Errors of API requests are the wire errors of ``aurora_provider.api.errors``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aurora_provider.errors import AuroraError


class SchedulerError(AuroraError):
    """The daemon cannot start or go on as asked; ``str(e)`` is one line."""


def json_file(flag: str, path: Path) -> Any:
    """The JSON document of the file ``flag`` names (``--tier-config`` and the like);
    SchedulerError, naming the flag, the file and a JSON error's line, when it cannot be
    read or is not JSON."""
    try:
        text = path.read_text()
    except OSError as e:
        raise SchedulerError(f"{flag} {path}: cannot read it: {e.strerror or e}") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise SchedulerError(f"{flag} {path}:{e.lineno}: not JSON: {e.msg}") from e
