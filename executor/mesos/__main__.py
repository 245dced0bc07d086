"""``python -m executor.mesos``: ``aurora-executor`` without installing the console script."""

from __future__ import annotations

from .main import main

if __name__ == "__main__":
    raise SystemExit(main())
