"""A one-line progress display on stderr while the CLI waits for the scheduler."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Rewrites one line on a terminal; elsewhere prints a line whenever the text changes."""

    def __init__(self, title: str, stream: TextIO | None = None) -> None:
        self.title = title
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._last = ""
        self._tty = self.stream.isatty()

    def update(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        if self._tty:
            self.stream.write(f"\r\033[K{self.title}: {text} ({elapsed:.0f} s)")
            self.stream.flush()
        elif text != self._last:
            self.stream.write(f"{self.title}: {text}\n")
            self.stream.flush()
        self._last = text

    def close(self) -> None:
        if self._tty:
            self.stream.write("\n")
            self.stream.flush()
