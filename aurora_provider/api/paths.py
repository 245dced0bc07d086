"""Where clients and the embedded scheduler keep their files."""

from __future__ import annotations

import os
from pathlib import Path


def aurora_home() -> Path:
    """``$AURORA_HOME`` when set (tests set it), else ``~/.aurora``."""
    return Path(os.environ.get("AURORA_HOME") or Path.home() / ".aurora")


def default_token_file() -> Path:
    return aurora_home() / "token"
