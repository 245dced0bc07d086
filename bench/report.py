"""Writing a benchmark's section of docs/benchmarks.md, keeping the other sections."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(title: str, text: str) -> None:
    """Replace the ``## title`` section (or append it) with ``text`` (which starts with it)."""
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    marker = f"## {title}\n"
    if marker in current:
        head, _, rest = current.partition(marker)
        following = rest.find("\n## ")
        tail = rest[following + 1:] if following >= 0 else ""
        current = head + text.rstrip("\n") + "\n" + ("\n" + tail if tail else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text.rstrip("\n") + "\n"
    DOCS.write_text(current)
