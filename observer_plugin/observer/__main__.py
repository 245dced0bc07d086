"""``python -m observer_plugin.observer``: the same as ``aurora-observer``."""

from __future__ import annotations

import sys

from .main import main

sys.exit(main())
